#!/usr/bin/env python3
"""How often a fixed Fashion-MNIST classifier recognises sampled images as the class they were asked for.

    python3 scripts/pytorch/classify_samples.py GRID.png [GRID.png ...]

Each GRID.png is a `sample --grid RxC` picture of a class-conditional prior (row r shows class r mod 10, 2-pixel
borders as torchvision's make_grid). The classifier is a small CNN trained once on the Fashion-MNIST training split
(Debian's dataset-fashion-mnist, padded to 32x32 as the pipeline pads it), with a fixed seed, and cached in
outputs/classifier/fashion-cnn.pt; its accuracy on the real test images is the figure to compare with. An
evaluation tool, not part of the toolkit: the toolkit itself needs no Python.
"""
import argparse
import gzip
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

DATA = "/usr/share/datasets/fashion-mnist"
CACHE = "outputs/classifier/fashion-cnn.pt"


def idx(path):
    with gzip.open(path) as f:
        magic, = struct.unpack(">I", f.read(4))
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def images(split):
    x = idx(f"{DATA}/{split}-images-idx3-ubyte.gz").astype(np.float32) / 255
    y = idx(f"{DATA}/{split}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(np.pad(x, ((0, 0), (2, 2), (2, 2))))[:, None], torch.from_numpy(y)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3 = nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1), nn.Conv2d(64, 128, 3, padding=1)
        self.fc = nn.Linear(128 * 4 * 4, 10)

    def forward(self, x):
        for conv in (self.c1, self.c2, self.c3):
            x = F.max_pool2d(F.relu(conv(x)), 2)
        return self.fc(x.flatten(1))


def trained():
    model = Classifier()
    if os.path.exists(CACHE):
        model.load_state_dict(torch.load(CACHE))
        return model
    torch.manual_seed(0)
    x, y = images("train")
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for epoch in range(4):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            batch = order[i:i + 128]
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    torch.save(model.state_dict(), CACHE)
    return model


def grid_images(path, size, classes):
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255
    rows, columns = (pixels.shape[0] - 2) // (size + 2), (pixels.shape[1] - 2) // (size + 2)
    tiles = [pixels[2 + r * (size + 2):2 + r * (size + 2) + size, 2 + c * (size + 2):2 + c * (size + 2) + size]
             for r in range(rows) for c in range(columns)]
    labels = [r % classes for r in range(rows) for _ in range(columns)]
    return torch.from_numpy(np.stack(tiles))[:, None], torch.tensor(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("grids", nargs="*")
    parser.add_argument("--size", type=int, default=32)
    arguments = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    model = trained().eval()
    with torch.no_grad():
        x, y = images("t10k")
        real = (model(x).argmax(1) == y).float().mean().item()
        print(f"real test images: {real:.1%} recognised as their class ({len(y)} images)")
        for path in arguments.grids:
            x, y = grid_images(path, arguments.size, 10)
            hits = (model(x).argmax(1) == y).float()
            print(f"{path}: {hits.mean().item():.1%} recognised as the class asked for ({len(y)} images)")


if __name__ == "__main__":
    sys.exit(main())
