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
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_vqvae import summarize, timeit  # noqa: E402  (shared timing + contention tracking)
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


def build_model(dim=256, layers=8, heads=8, n_classes=10, dropout=0.1, seed=0):
    """The benchmarked prior (K 512, 64 positions), freshly initialised from `seed`."""
    torch.manual_seed(seed)
    return TransformerPrior(512, dim, layers, heads, n_classes, 64, dropout=dropout)


def forward_macs(model, length=64):
    """Multiply-adds of one forward pass over one grid of `length` positions, counted as vqvae-bench counts them:
    per position and block qkv (3d^2), proj (d^2) and the MLP (8d^2), the causal attention's scores and weighted sum
    (d per position attended: itself and those before it), then the head (dK)."""
    d, k = model.head.in_features, model.head.out_features
    per_block = length * 12 * d * d + 2 * d * length * (length + 1) // 2
    return len(model.blocks) * per_block + length * d * k


def bench_train(batch=32, iters=8, warmup=2, **size):
    """AdamW steps (lr 3e-4, default weight decay) with dropout on, on random 8x8 latents: ref_vqvae's summary."""
    model = build_model(**size)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    codes = torch.randint(0, 512, (batch, 8, 8))
    labels = torch.arange(batch) % 10

    def step():
        opt.zero_grad()
        F.cross_entropy(model(codes, labels), codes).backward()
        opt.step()

    model.train()
    return summarize(timeit(step, warmup, iters))


def bench_sample(n=100, iters=1, warmup=0, **size):
    """Sampling n grids of 8x8 with the key/value cache, one class per n/10 grids: ref_vqvae's summary."""
    model = build_model(**size).eval()
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 10
    return summarize(timeit(lambda: sample(model, labels, 8, 8, gen), warmup, iters))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=8)
    a = ap.parse_args()
    size = dict(dim=a.dim, layers=a.layers, heads=a.heads)
    train = bench_train(a.batch, iters=a.iters, **size)
    sampling = bench_sample(**size)
    print(json.dumps({
        "parameters": sum(p.numel() for p in build_model(**size).parameters()), "threads": torch.get_num_threads(),
        "train_step_median_s": train["median_s"], "sample_100x8x8_s": sampling["median_s"]}))


if __name__ == "__main__":
    main()
