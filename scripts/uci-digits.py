#!/usr/bin/env python3
"""Writes the 1797 UCI handwritten digits that scikit-learn bundles as MNIST-style 32x32 gray PNGs.

    pip download --no-deps -d /tmp/skl scikit-learn
    unzip -o /tmp/skl/scikit_learn-*.whl 'sklearn/datasets/data/digits.csv.gz' -d /tmp/skl
    scripts/uci-digits.py /tmp/skl/sklearn/datasets/data/digits.csv.gz data/uci-digits

Why: the README's out-of-distribution example scores Fashion-MNIST against handwritten digits, and MNIST cannot be
downloaded where the figures were made (only Debian's and PyPI's registries are reachable); these digits come inside
scikit-learn's wheel. Each 8x8 digit (16 grey levels) is enlarged bilinearly to 20x20, centred in 28x28 as MNIST
centres its digits, and padded to 32x32 as the toolkit pads MNIST. Files go to OUT_DIR/<digit>/<n>.png, the
layout `vqvae-tools score --against OUT_DIR` reads. Needs numpy only; with MNIST at hand use
`--against MNIST --against-dir <its folder>` instead.
"""
import gzip
import os
import struct
import sys
import zlib

import numpy


def png(path, pixels):
    """An 8-bit gray PNG of a 2-D uint8 array."""
    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def enlarge(image, size):
    """Bilinear resize of a square array to size x size (pixel centres aligned)."""
    n = image.shape[0]
    coords = (numpy.arange(size) + 0.5) * n / size - 0.5
    low = numpy.clip(numpy.floor(coords).astype(int), 0, n - 1)
    high = numpy.clip(low + 1, 0, n - 1)
    t = numpy.clip(coords - low, 0, 1)
    rows = image[low] * (1 - t)[:, None] + image[high] * t[:, None]
    return rows[:, low] * (1 - t)[None, :] + rows[:, high] * t[None, :]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out = sys.argv[1], sys.argv[2]
    with gzip.open(source, "rt") as f:
        rows = numpy.loadtxt(f, delimiter=",")
    counts = {}
    for row in rows:
        digit = int(row[64])
        image = enlarge(row[:64].reshape(8, 8) / 16.0, 20)
        canvas = numpy.zeros((32, 32))
        canvas[6:26, 6:26] = image
        folder = os.path.join(out, str(digit))
        os.makedirs(folder, exist_ok=True)
        n = counts.get(digit, 0)
        counts[digit] = n + 1
        png(os.path.join(folder, f"{n:04d}.png"), numpy.clip(canvas * 255 + 0.5, 0, 255).astype(numpy.uint8))
    print(f"{len(rows)} digits written to {out}/<digit>/")


if __name__ == "__main__":
    main()
