#!/usr/bin/env python3
"""Builds a FOLDER dataset of RGB PNGs from the installed Fashion-MNIST, for trying image sizes other than 32x32:

  scripts/make-fashion-folder.py OUT_DIR [--per-class-train 2000] [--per-class-test 200] [--side 84]

Each 28x28 image is tinted with its class's colour and enlarged to SIDE x SIDE (nearest neighbour, SIDE a multiple
of 28), then written as OUT_DIR/{train,test}/<class name>/<index>.png: one sub-folder per class, so the folder has
labels. vqvae-train --dataset FOLDER --image-size N then area-resizes them to N x N. Needs numpy; no other package.
"""
import argparse, gzip, os, struct, zlib
import numpy as np

CLASSES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
# One colour per class, so a sample grid shows at a glance whether the class conditioning holds.
COLOURS = np.array([[230, 60, 50], [60, 140, 230], [240, 180, 40], [200, 70, 200], [90, 190, 90],
                    [240, 120, 40], [120, 120, 240], [40, 200, 200], [180, 140, 90], [230, 230, 230]], np.float32)


def idx(path, header):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = struct.unpack(">" + "I" * header, data[4:4 + 4 * header])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * header).reshape(dims)


def png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--per-class-train", type=int, default=2000)
    parser.add_argument("--per-class-test", type=int, default=200)
    parser.add_argument("--side", type=int, default=84)
    args = parser.parse_args()
    if args.side % 28:
        parser.error("--side must be a multiple of 28")
    for split, prefix, per_class in [("train", "train", args.per_class_train), ("test", "t10k", args.per_class_test)]:
        images = idx(os.path.join(args.data_dir, f"{prefix}-images-idx3-ubyte.gz"), 3)
        labels = idx(os.path.join(args.data_dir, f"{prefix}-labels-idx1-ubyte.gz"), 1)
        for label, name in enumerate(CLASSES):
            folder = os.path.join(args.out, split, name)
            os.makedirs(folder, exist_ok=True)
            for n, i in enumerate(np.flatnonzero(labels == label)[:per_class]):
                gray = images[i].astype(np.float32)[..., None] / 255
                rgb = (gray * COLOURS[label]).round().astype(np.uint8)
                scale = args.side // 28
                png(os.path.join(folder, f"{n:05d}.png"), rgb.repeat(scale, 0).repeat(scale, 1))
    print(f"{args.out}: train/ and test/, {len(CLASSES)} classes, {args.side}x{args.side} RGB")


if __name__ == "__main__":
    main()
