#!/usr/bin/env python3
"""Reference timings of the transformer prior in PyTorch (CPU): a train step and sampling with a key/value cache.

The model is the fixture script's GPT (scripts/pytorch/transformer_fixtures.py), at the size the toolkit's bench
measures: K 512, dim 256, 8 layers, 8 heads, 10 classes, 8x8 grids (64 positions), dropout 0.1 while training.

  python3 scripts/pytorch/ref_transformer.py            # train step at batch 32 (AdamW), sampling 100 grids
  python3 scripts/pytorch/ref_transformer.py --dim 128 --layers 6 --heads 4
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transformer_fixtures import TransformerPrior  # noqa: E402


@torch.no_grad()
def sample(model, labels, height, width, generator):
    """Ancestral sampling in raster order with a key/value cache: each position goes through the blocks once."""
    n, length = labels.shape[0], height * width
    codes = torch.zeros(n, length, dtype=torch.long)
    caches = [([], []) for _ in model.blocks]
    for p in range(length):
        token = model.start_embedding(labels) if p == 0 else model.token_embedding(codes[:, p - 1])
        x = token + model.position_embedding.weight[p]
        if model.class_embedding is not None:
            x = x + model.class_embedding(labels)
        x = x[:, None]
        for block, (keys, values) in zip(model.blocks, caches):
            h = block.ln1(x)
            d, heads = h.shape[-1], block.attn.heads
            q, k, v = (z.view(n, 1, heads, d // heads).transpose(1, 2) for z in block.attn.qkv(h).split(d, dim=2))
            keys.append(k)
            values.append(v)
            attended = F.scaled_dot_product_attention(q, torch.cat(keys, 2), torch.cat(values, 2))
            x = x + block.attn.proj(attended.transpose(1, 2).reshape(n, 1, d))
            x = x + block.mlp(block.ln2(x))
        logits = model.head(model.ln_f(x[:, 0]))
        codes[:, p] = torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]
    return codes.view(n, height, width)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=8)
    a = ap.parse_args()
    torch.manual_seed(0)
    model = TransformerPrior(512, a.dim, a.layers, a.heads, 10, 64, dropout=0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    codes = torch.randint(0, 512, (a.batch, 8, 8))
    labels = torch.arange(a.batch) % 10
    times = []
    for i in range(a.iters + 2):
        start = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(codes, labels), codes).backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - start)
    model.eval()
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    sample(model, torch.arange(100) % 10, 8, 8, gen)
    sampling = time.perf_counter() - start
    print(json.dumps({
        "parameters": sum(p.numel() for p in model.parameters()), "threads": torch.get_num_threads(),
        "train_step_median_s": statistics.median(times), "sample_100x8x8_s": sampling}))


if __name__ == "__main__":
    main()
