import Foundation

/// A file a dataset is downloaded as, with what identifies it: its size, and the digests its publishers (and
/// torchvision, TensorFlow Datasets) give for it. A download is kept only when all three match.
public struct RemoteFile: Sendable, Equatable {
  /// The file's name, on every mirror and on disk.
  public var name: String
  /// Its size in bytes.
  public var bytes: Int
  /// Its SHA-256, lower-case hex.
  public var sha256: String
  /// Its MD5, lower-case hex: the digest torchvision checks, and the only one CIFAR-10's authors publish.
  public var md5: String?

  public init(name: String, bytes: Int, sha256: String, md5: String? = nil) {
    (self.name, self.bytes, self.sha256, self.md5) = (name, bytes, sha256, md5)
  }
}

/// Where a dataset can be downloaded from: mirrors tried in turn, the files, and for an archive the folder it
/// unpacks to.
public struct DatasetSource: Sendable {
  /// Base URLs, tried in turn; a file's URL is the base followed by its name.
  public var mirrors: [String]
  /// The files.
  public var files: [RemoteFile]
  /// For a `.tar.gz` (CIFAR-10): the folder it holds, unpacked beside it with the system's `tar`.
  public var unpacksTo: String?

  public init(mirrors: [String], files: [RemoteFile], unpacksTo: String? = nil) {
    (self.mirrors, self.files, self.unpacksTo) = (mirrors, files, unpacksTo)
  }

  /// The files of `dataset` and torchvision's mirrors for them; nil for FOLDER, which is the user's own.
  public static func of(_ dataset: DatasetName) -> DatasetSource? {
    switch dataset {
    case .mnist:
      DatasetSource(
        mirrors: ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        files: [
          RemoteFile(
            name: "train-images-idx3-ubyte.gz", bytes: 9_912_422,
            sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
          RemoteFile(
            name: "train-labels-idx1-ubyte.gz", bytes: 28_881,
            sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            md5: "d53e105ee54ea40749a09fcbcd1e9432"),
          RemoteFile(
            name: "t10k-images-idx3-ubyte.gz", bytes: 1_648_877,
            sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            md5: "9fb629c4189551a2d022fa330f9573f3"),
          RemoteFile(
            name: "t10k-labels-idx1-ubyte.gz", bytes: 4_542,
            sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            md5: "ec29112dd5afa0611ce80d1b7f02629c"),
        ])
    case .fashionMNIST:
      DatasetSource(
        mirrors: [
          "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
          "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ],
        files: [
          RemoteFile(
            name: "train-images-idx3-ubyte.gz", bytes: 26_421_880,
            sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
          RemoteFile(
            name: "train-labels-idx1-ubyte.gz", bytes: 29_515,
            sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            md5: "25c81989df183df01b3e8a0aad5dffbe"),
          RemoteFile(
            name: "t10k-images-idx3-ubyte.gz", bytes: 4_422_102,
            sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            md5: "bef4ecab320f06d8554ea6380940ec79"),
          RemoteFile(
            name: "t10k-labels-idx1-ubyte.gz", bytes: 5_148,
            sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            md5: "bb300cfdad3c16e7a12a480ee83cd310"),
        ])
    case .cifar10:
      DatasetSource(
        mirrors: ["https://www.cs.toronto.edu/~kriz/", "https://cave.cs.toronto.edu/kriz/"],
        files: [
          RemoteFile(
            name: "cifar-10-binary.tar.gz", bytes: 170_052_171,
            sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            md5: "c32a1d4ab5d03f1284b67883e8d87530")
        ], unpacksTo: "cifar-10-batches-bin")
    case .folder:
      nil
    }
  }
}
