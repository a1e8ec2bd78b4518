#!/usr/bin/env python3
"""Writes the seed corpora (Corpus/<reader>/) and the dictionaries (Dictionaries/<reader>.dict) of fuzz-readers.

Every seed is a small valid file of its format, a few KB at most, so that libFuzzer starts from inputs that get past
the first checks and mutates its way into the rest. The output is deterministic (fixed gzip times, no random
generator), so running it again gives the same files; they are committed, and this script is how to change them.

    python3 Fuzz/make-corpus.py            (python3 and numpy; Fashion-MNIST from /usr/share/datasets/fashion-mnist,
                                            the Debian package dataset-fashion-mnist, for the IDX seeds)
"""

import gzip
import io
import json
import os
import shutil
import struct
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "Corpus")
DICTIONARIES = os.path.join(HERE, "Dictionaries")
FASHION = "/usr/share/datasets/fashion-mnist"

# What separates the files of a latent-block input (Readers.latentPartSeparator in LatentBlockFolder.swift).
PART = b"\n--npy--\n"


def write(reader, name, data):
    folder = os.path.join(CORPUS, reader)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def gz(data, mtime=0):
    """Gzip with a fixed header time, so that the output does not change from run to run."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=mtime, filename="") as f:
        f.write(data)
    return out.getvalue()


# --- IDX (idx-images, idx-labels) -------------------------------------------------------------------------------


def fashion(name):
    with gzip.open(os.path.join(FASHION, name), "rb") as f:
        return f.read()


def idx3(images):
    count, rows, cols = images.shape
    return struct.pack(">IIII", 0x0803, count, rows, cols) + images.astype(np.uint8).tobytes()


def idx1(labels):
    return struct.pack(">II", 0x0801, len(labels)) + bytes(labels)


def idx_seeds():
    raw = fashion("t10k-images-idx3-ubyte.gz")
    images = np.frombuffer(raw[16:16 + 4 * 784], dtype=np.uint8).reshape(4, 28, 28)
    labels = list(fashion("t10k-labels-idx1-ubyte.gz")[8:8 + 20])

    two = idx3(images[:2])
    write("idx-images", "fashion-2x28x28.idx3", two)
    # The harness takes the labels' count from bytes 4..<8 read big-endian: in a gzip file those are the header's
    # time, little-endian, so a time of 0x02000000 reads as 2 images.
    write("idx-images", "fashion-2x28x28.idx3.gz", gz(two, mtime=0x02000000))
    # Two gzip members, as `cat a.gz b.gz` makes: the reader inflates them as one file.
    write("idx-images", "fashion-2x28x28-two-members.idx3.gz",
          gz(two[:800], mtime=0x02000000) + gz(two[800:]))
    # Smaller than 32x32 but not square, and larger than 32x32 (which only loads unpadded).
    crop = images[:3, 4:11, 9:14]
    write("idx-images", "fashion-3x7x5.idx3", idx3(crop))
    big = np.zeros((1, 36, 33), dtype=np.uint8)
    big[0, 4:32, 2:30] = images[3]
    write("idx-images", "fashion-1x36x33.idx3", idx3(big))
    write("idx-images", "empty-0x28x28.idx3", idx3(np.zeros((0, 28, 28), dtype=np.uint8)))

    write("idx-labels", "fashion-20.idx1", idx1(labels))
    write("idx-labels", "fashion-20.idx1.gz", gz(idx1(labels)))
    write("idx-labels", "fashion-1.idx1", idx1(labels[:1]))
    write("idx-labels", "empty-0.idx1", idx1([]))


# --- CIFAR-10 ---------------------------------------------------------------------------------------------------


def cifar_seeds():
    def record(label, seed):
        y, x = np.mgrid[0:32, 0:32]
        planes = [(x * 8 + seed) % 256, (y * 8 + 2 * seed) % 256, ((x + y) * 4 + 3 * seed) % 256]
        return bytes([label]) + np.stack(planes).astype(np.uint8).tobytes()

    write("cifar10", "one-record.bin", record(3, 0))
    write("cifar10", "two-records.bin", record(7, 11) + record(0, 50))


# --- PNG --------------------------------------------------------------------------------------------------------


def png(width, height, color_type, bit_depth, rows, palette=None, trns=None, interlace=False, extra=()):
    """A PNG of `rows` (a list of bytes per row, already packed to `bit_depth`), filter type 0 on every row (or the
    Adam7 passes of `pixels` when `interlace` is set: then `rows` is a function (x, y) -> packed pixel bytes)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b""
        for x0, y0, dx, dy in passes:
            xs = range(x0, width, dx)
            for y in range(y0, height, dy):
                if len(xs):
                    raw += b"\x00" + b"".join(rows(x, y) for x in xs)
    else:
        raw = b"".join(b"\x00" + row for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    body = chunk(b"IHDR", ihdr)
    for kind, data in extra:
        body += chunk(kind, data)
    if palette is not None:
        body += chunk(b"PLTE", palette)
    if trns is not None:
        body += chunk(b"tRNS", trns)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def png_seeds():
    raw = fashion("t10k-images-idx3-ubyte.gz")
    shirt = np.frombuffer(raw[16:16 + 784], dtype=np.uint8).reshape(28, 28)
    write("png", "fashion-gray-28x28.png", png(28, 28, 0, 8, [bytes(r) for r in shirt]))

    gray = [bytes((x * 30 + y * 7) % 256 for x in range(8)) for y in range(8)]
    write("png", "gray-8x8.png", png(8, 8, 0, 8, gray, extra=[(b"gAMA", struct.pack(">I", 45455))]))
    rgb = [bytes(v for x in range(6) for v in (x * 40, y * 60, 255 - x * 40)) for y in range(4)]
    write("png", "rgb-6x4.png", png(6, 4, 2, 8, rgb))
    rgba = [bytes(v for x in range(5) for v in (x * 50, y * 50, 128, 255 - (x + y) * 25)) for y in range(5)]
    write("png", "rgba-5x5.png", png(5, 5, 6, 8, rgba))
    gray_alpha = [bytes(v for x in range(4) for v in (x * 60, 255 - y * 60)) for y in range(4)]
    write("png", "gray-alpha-4x4.png", png(4, 4, 4, 8, gray_alpha))
    palette = bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255])
    indexed = [bytes((x + y) % 4 for x in range(4)) for y in range(4)]
    write("png", "palette-4x4.png", png(4, 4, 3, 8, indexed, palette=palette))
    write("png", "palette-trns-4x4.png", png(4, 4, 3, 8, indexed, palette=palette, trns=bytes([0, 128])))
    sixteen = [b"".join(struct.pack(">H", (x * 20000 + y * 3000) % 65536) for x in range(3)) for y in range(3)]
    write("png", "gray16-3x3.png", png(3, 3, 0, 16, sixteen))
    one_bit = [bytes([0b10110010, 0b01000000]) for _ in range(5)]
    write("png", "gray1-10x5.png", png(10, 5, 0, 1, one_bit))
    write("png", "rgb-interlaced-9x7.png",
          png(9, 7, 2, 8, lambda x, y: bytes((x * 28, y * 36, 200)), interlace=True))


# --- .npy -------------------------------------------------------------------------------------------------------


def npy(array, version=(1, 0)):
    out = io.BytesIO()
    np.lib.format.write_array(out, array, version=version, allow_pickle=False)
    return out.getvalue()


def npy_seeds():
    write("npy", "int64-2x2x2.npy", npy(np.arange(8, dtype="<i8").reshape(2, 2, 2)))
    write("npy", "int64-labels-5.npy", npy(np.array([3, 1, 4, 1, 5], dtype="<i8")))
    write("npy", "int32-3.npy", npy(np.array([-7, 0, 2**31 - 1], dtype="<i4")))
    write("npy", "uint8-2x3.npy", npy(np.array([[0, 1, 2], [253, 254, 255]], dtype="|u1")))
    write("npy", "int64-scalar.npy", npy(np.array(42, dtype="<i8")))
    write("npy", "int64-empty-0x4.npy", npy(np.zeros((0, 4), dtype="<i8")))
    write("npy", "int64-v2-3.npy", npy(np.array([9, 8, 7], dtype="<i8"), version=(2, 0)))


# --- LATENT_BLOCK -----------------------------------------------------------------------------------------------


def latents_json(k, grid, classes, train, test, histogram):
    info = {
        "checkpoint": "outputs/fuzz/checkpoints/vqvae.safetensors",
        "checkpoint_sha256": "410295fea878814aae287ed8d536b0110876bf53f2229ce59976eb8fc828f6e6",
        "checkpoint_update": 1000,
        "data_dir": "/usr/share/datasets/fashion-mnist",
        "dataset": "FASHION_MNIST",
        "dtype": "int64",
        "embedding_dim": 32,
        "format": "LATENT_BLOCK",
        "grid_shape": list(grid),
        "n_classes": classes,
        "n_embeddings": k,
        "test_codes_used": len(set(test)),
        "test_count": len(test) // (grid[0] * grid[1]),
        "train_code_histogram": histogram,
        "train_codes_used": sum(1 for h in histogram if h),
        "train_count": len(train) // (grid[0] * grid[1]),
    }
    return (json.dumps(info, indent=2, sort_keys=True) + "\n").encode()


def latent_seeds():
    # The files that Readers.fixedLatentFiles puts beside a latents.json alone: 2x2 grids of codes 0..<8.
    train = [0, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4]
    test = [1, 1, 2, 2, 3, 3, 0, 0]
    histogram = [train.count(c) for c in range(8)]
    info = latents_json(8, (2, 2), 10, train, test, histogram)
    write("latent-block", "latents.json", info)
    write("latent-block", "latents-minimal.json", b'{"n_embeddings": 8, "grid_shape": [2, 2]}\n')

    def grids(values, n, h, w):
        return npy(np.array(values, dtype="<i8").reshape(n, h, w))

    def labels(values):
        return npy(np.array(values, dtype="<i8"))

    write("latent-block", "labelled-parts",
          PART.join([info, grids(train, 3, 2, 2), grids(test, 2, 2, 2), labels([0, 9, 3]), labels([5, 1])]))
    unlabelled = latents_json(8, (2, 2), 0, train, test, histogram)
    write("latent-block", "unlabelled-parts", PART.join([unlabelled, grids(train, 3, 2, 2), grids(test, 2, 2, 2)]))
    # A 1x3 grid (not square) and a single test grid, labels read without n_classes.
    wide = b'{"format": "LATENT_BLOCK", "grid_shape": [1, 3], "n_embeddings": 4}\n'
    write("latent-block", "wide-parts",
          PART.join([wide, grids([0, 1, 2, 3, 3, 3], 2, 1, 3), grids([2, 1, 0], 1, 1, 3), labels([1, 0]), labels([1])]))


# --- safetensors checkpoints ------------------------------------------------------------------------------------


def safetensors(tensors, metadata=None):
    """The toolkit's layout: sorted names back to back, a compact sorted-key header padded to 8 bytes."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    data = b""
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        blob = np.array(values, dtype="<f4" if dtype == "F32" else "<i8").tobytes()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def training_tensors(order):
    return {
        "data.epoch": ("I64", [], [1]),
        "data.order": ("I64", [len(order)], order),
        "data.position": ("I64", [], [2]),
        "optimizer.step": ("I64", [], [40]),
        "rng.state": ("I64", [4], [1, 2, 3, 4]),
    }


VQVAE_CONFIG = {
    "batch_size": 16, "beta": 0.25, "codebook_init": "kmeans", "codebook_update": "ema",
    "data_dir": "/usr/share/datasets/fashion-mnist", "data_variance": 0.4985044688613271,
    "dataset": "FASHION_MNIST", "dead_code_threshold": 0.1, "downsamples": 2, "ema_decay": 0.99, "embedding_dim": 2,
    "eval_batches": None, "eval_every": 0, "image_shape": [1, 32, 32], "image_size": None, "in_channels": 1,
    "latent_grid": [8, 8], "learning_rate": 0.001, "log_interval": 10, "n_embeddings": 4, "n_hiddens": 4,
    "n_residual_hiddens": 2, "n_residual_layers": 1, "n_updates": 40, "optimizer": "Adam(amsgrad)",
    "output_dir": "outputs/fuzz", "pad": True, "save_every": 0, "seed": 0, "test_count": 200, "test_limit": 200,
    "train_count": 5, "train_limit": 5,
}

PRIOR_CONFIG = {
    "batch_size": 16, "class_conditioning": True, "dataset": "LATENT_BLOCK", "dim": 2, "epochs": 2,
    "eval_batches": 4, "eval_every": 0, "grid_shape": [8, 8], "head_hidden": 0, "latents": "outputs/fuzz/latents",
    "learning_rate": 0.001, "log_interval": 10, "n_classes": 10, "n_embeddings": 4, "n_layers": 2, "n_updates": 20,
    "optimizer": "Adam", "output_dir": "outputs/fuzz/prior", "save_every": 0, "seed": 0, "test_limit": None,
    "train_limit": None, "vqvae_checkpoint": "outputs/fuzz/checkpoints/vqvae.safetensors",
}


def compact(value):
    """A configuration as the toolkit stores it in a checkpoint: one line, sorted keys, slashes escaped."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).replace("/", "\\/")


def checkpoint_seeds():
    vqvae = training_tensors([4, 0, 3, 1, 2])
    vqvae.update({
        "pre_quantization_conv.bias": ("F32", [2], [0.5, -0.25]),
        "optimizer.pre_quantization_conv.bias.exp_avg": ("F32", [2], [0.01, 0.02]),
        "optimizer.pre_quantization_conv.bias.exp_avg_sq": ("F32", [2], [0.001, 0.002]),
        "rng.codebook_state": ("I64", [4], [5, 6, 7, 8]),
        "vector_quantization.cluster_size": ("F32", [4], [1.0, 2.0, 0.0, 0.5]),
        "vector_quantization.embed_avg": ("F32", [4, 2], [0.1] * 8),
        "vector_quantization.embedding.weight": ("F32", [4, 2], [0.2] * 8),
    })
    metadata = {"config": compact(VQVAE_CONFIG), "update": "40", "wall_seconds": "1.2345"}
    write("safetensors", "vqvae-checkpoint.safetensors", safetensors(vqvae, metadata))
    write("safetensors", "vqvae-best.safetensors",
          safetensors(training_tensors([1, 0]), dict(metadata, test_loss="0.0123", update="20")))

    prior = training_tensors([2, 0, 1])
    prior.update({
        "embedding.weight": ("F32", [4, 2], [0.0, 1.0] * 4),
        "layers.0.class_cond_embedding.weight": ("F32", [10, 4], [0.0] * 40),
    })
    prior_metadata = {
        "config": compact(PRIOR_CONFIG), "dim": "2", "grid_height": "8", "grid_width": "8", "head_hidden": "0",
        "latents": "outputs/fuzz/latents", "model": "gated_pixelcnn", "n_classes": "10", "n_embeddings": "4",
        "n_layers": "2", "update": "20", "vqvae_checkpoint": "outputs/fuzz/checkpoints/vqvae.safetensors",
        "wall_seconds": "0.5",
    }
    write("safetensors", "prior-checkpoint.safetensors", safetensors(prior, prior_metadata))
    # A prior written before the grid, the optimiser and the settings were recorded.
    old = {k: v for k, v in prior_metadata.items() if k not in ("config", "grid_height", "grid_width")}
    write("safetensors", "prior-old.safetensors", safetensors({"embedding.weight": ("F32", [4, 2], [1.0] * 8)}, old))
    write("safetensors", "plain.safetensors",
          safetensors({"a": ("F32", [2, 3], [1, 2, 3, 4, 5, 6]), "b": ("I64", [], [7]), "c": ("F32", [0], [])}))


# --- configuration files ----------------------------------------------------------------------------------------


def config_seeds():
    configs = os.path.join(HERE, "..", "configs")
    for name in ["smoke.json", "quick.json", "fashion-mnist-28.json", "folder-64.json", "cifar10.json"]:
        shutil.copyfile(os.path.join(configs, name), os.path.join(CORPUS, "config", name))
    pretty = dict(indent=2, sort_keys=True, separators=(",", " : "))
    write("config", "run-config.json", (json.dumps(VQVAE_CONFIG, **pretty) + "\n").encode())
    folder = dict(VQVAE_CONFIG, dataset="FOLDER", data_dir="data/fashion-rgb", image_size=64, in_channels=3,
                  image_shape=[3, 64, 64], latent_grid=[16, 16], eval_batches=16, codebook_update="loss",
                  codebook_init="uniform")
    write("config", "run-config-folder.json", (json.dumps(folder, **pretty) + "\n").encode())
    write("config", "prior-config.json", (json.dumps(PRIOR_CONFIG, **pretty) + "\n").encode())
    train = [0, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4]
    write("config", "latents.json",
          latents_json(8, (2, 2), 10, train, [1, 1, 2, 2, 3, 3, 0, 0], [train.count(c) for c in range(8)]))


# --- dictionaries -----------------------------------------------------------------------------------------------


def dictionary(reader, tokens):
    os.makedirs(DICTIONARIES, exist_ok=True)
    with open(os.path.join(DICTIONARIES, reader + ".dict"), "w") as f:
        for token in tokens:
            escaped = "".join(
                c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "\\x%02x" % ord(c) for c in token)
            f.write('"%s"\n' % escaped)


def dictionaries():
    idx = ["\x00\x00\x08\x03", "\x00\x00\x08\x01", "\x1f\x8b\x08\x00", "\x00\x00\x00\x1c", "\x00\x00\x00\x20"]
    dictionary("idx-images", idx)
    dictionary("idx-labels", idx)
    dictionary("png", ["\x89PNG\r\n\x1a\n", "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "sBIT", "cHRM", "sRGB",
                       "iCCP", "bKGD", "pHYs", "tEXt", "zTXt", "acTL", "fcTL", "\x00\x00\x00\x0d"])
    npy_tokens = ["\x93NUMPY", "\x01\x00", "\x02\x00", "'descr'", "'<i8'", "'<i4'", "'|u1'", "'<f4'", "'fortran_order'",
                  "False", "True", "'shape'", "(", ")", ", ", ",)", ": ", "{", "}"]
    dictionary("npy", npy_tokens)
    latent_keys = ["format", "dtype", "dataset", "checkpoint", "n_embeddings", "grid_shape", "n_classes",
                   "train_count", "test_count", "data_dir", "checkpoint_sha256", "checkpoint_update", "embedding_dim",
                   "train_codes_used", "test_codes_used", "train_code_histogram"]
    dictionary("latent-block", ['"%s"' % k for k in latent_keys] + [PART.decode(), "null", "[", "]"] + npy_tokens)
    vqvae_keys = sorted(VQVAE_CONFIG)
    prior_keys = sorted(PRIOR_CONFIG) + ["prior"]
    values = ["null", "true", "false", "FASHION_MNIST", "MNIST", "CIFAR10", "FOLDER", "LATENT_BLOCK", "ema", "loss",
              "kmeans", "uniform", "1e308", "-1", "0", "0.5"]
    dictionary("config", ['"%s"' % k for k in sorted(set(vqvae_keys + prior_keys + latent_keys))] + values)
    tensor_names = ["data.epoch", "data.order", "data.position", "optimizer.step", "rng.state", "rng.codebook_state",
                    "vector_quantization.cluster_size", "vector_quantization.embed_avg", "embedding.weight"]
    metadata_keys = ["__metadata__", "config", "update", "wall_seconds", "test_loss", "model", "gated_pixelcnn", "dim",
                     "n_layers", "n_classes", "n_embeddings", "head_hidden", "grid_height", "grid_width", "latents",
                     "vqvae_checkpoint"]
    dictionary("safetensors", ['"%s"' % k for k in tensor_names + metadata_keys + ["dtype", "shape", "data_offsets"]]
               + ['"F32"', '"I64"', "\\\"", "{", "}", "[", "]", ":", ","] + ['\\"%s\\"' % k for k in vqvae_keys])


def crc32c(data):
    """CRC-32C (Castagnoli), as TFRecord framing uses it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def record(payload):
    """One TFRecord record: length, masked CRC-32C of the length, payload, masked CRC-32C of the payload."""
    def masked(data):
        crc = crc32c(data)
        return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)
    length = struct.pack("<Q", len(payload))
    return length + masked(length) + payload + masked(payload)


def field(number, wire, value):
    """A protobuf field: varints as ints, doubles and floats as packed bytes, messages and strings as bytes."""
    def varint(n):
        out = b""
        while True:
            out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                return out
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(value)
    if wire == 2:
        return key + varint(len(value)) + value
    return key + value


def event(step, what):
    """An Event: wall_time, step and one of file_version (3), summary (5)."""
    return field(1, 1, struct.pack("<d", 1.7e9 + step)) + field(2, 0, step) + what


def scalar(tag, value):
    return field(5, 2, field(1, 2, field(1, 2, tag.encode()) + field(2, 5, struct.pack("<f", value))))


def event_seeds():
    version = record(event(0, field(3, 2, b"brain.Event:2")))
    scalars = b"".join(record(event(step, scalar("train/loss", 1.0 / step))) for step in (2, 4, 6, 8))
    histogram = field(5, 2, field(1, 2, field(1, 2, b"test/code_usage") + field(5, 2, field(3, 1, struct.pack(
        "<d", 3)) + field(6, 2, struct.pack("<3d", 0, 1, 2)) + field(7, 2, struct.pack("<3d", 1, 0, 2)))))
    text = field(5, 2, field(1, 2, field(1, 2, b"settings") + field(9, 2, field(1, 2, field(1, 2, b"text")))
                            + field(8, 2, field(1, 0, 7) + field(8, 2, b"```json {} ```"))))
    write("events", "scalars.tfevents", version + scalars)
    write("events", "histogram-text.tfevents", version + record(event(4, histogram)) + record(event(0, text)))
    write("events", "torn.tfevents", version + scalars[:-7])


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    for reader in ["idx-images", "idx-labels", "cifar10", "png", "npy", "latent-block", "safetensors", "config",
                   "events"]:
        os.makedirs(os.path.join(CORPUS, reader), exist_ok=True)
    idx_seeds()
    cifar_seeds()
    png_seeds()
    npy_seeds()
    latent_seeds()
    checkpoint_seeds()
    config_seeds()
    event_seeds()
    dictionaries()
    for reader in sorted(os.listdir(CORPUS)):
        files = sorted(os.listdir(os.path.join(CORPUS, reader)))
        sizes = [os.path.getsize(os.path.join(CORPUS, reader, f)) for f in files]
        print("%-13s %2d seeds, %5d bytes at most" % (reader, len(files), max(sizes)))


if __name__ == "__main__":
    main()
