/// CRC-32C (Castagnoli), the checksum of TFRecord framing, and the masked form that event files store.
enum CRC32C {
  /// The reflected polynomial 0x1EDC6F41's byte table.
  private static let table: [UInt32] = (0..<256).map { byte in
    var crc = UInt32(byte)
    for _ in 0..<8 { crc = crc & 1 == 1 ? 0x82F6_3B78 ^ (crc >> 1) : crc >> 1 }
    return crc
  }

  /// The CRC-32C of `bytes`.
  static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
  }

  /// The CRC rotated right by 15 bits plus a constant, as TFRecord stores it (so that a CRC of data holding CRCs
  /// stays well spread).
  static func masked<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt32 {
    let crc = checksum(bytes)
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
  }
}
