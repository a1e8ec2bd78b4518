#!/usr/bin/env python3
"""Parity fixtures for the toolkit's transformer prior: a small GPT over raster-ordered code grids (PyTorch, CPU).

The model (module paths = the toolkit's tensor names, so either side loads the other's weights):

  token_embedding    nn.Embedding(K, d)                 the codes
  start_embedding    nn.Embedding(max(n_classes, 1), d) the class token (row 0: the start token when unconditional)
  class_embedding    nn.Embedding(n_classes, d)         added to every position's input (absent when unconditional)
                     (with class_dropout > 0 both have one more row, "no class", the label n_classes, which
                     training shows in place of a grid's class with that probability)
  position_embedding nn.Embedding(max_positions, d)     learned positions 0..T-1, T = height * width
  blocks.<i>         pre-LN: x + attn(ln1(x)), then x + mlp(ln2(x)) (dropout after each branch)
      attn.qkv  nn.Linear(d, 3d)  q, k, v = qkv(x).split(d); heads of d / heads; causal softmax(q k^T / sqrt(dh)) v
      attn.proj nn.Linear(d, d)
      mlp.0 nn.Linear(d, 4d), mlp.1 nn.GELU() (exact erf), mlp.2 nn.Linear(4d, d)
  ln_f, head         nn.LayerNorm(d), nn.Linear(d, K)

Input position 0 is the class (or start) token, position i > 0 the code at i - 1, each plus its position's
embedding and, when conditional, the class embedding (the class reaches every position directly, as the gated
PixelCNN's class embedding reaches every layer), so the logits at position i depend only on the codes before i and
the class. Loss: mean cross-entropy of the logits (B, K, H, W) against the codes.

Initialisation as GPTs do (normal std 0.02 for Linear and Embedding weights, zero biases, LayerNorm ones and zeros);
the fixtures then redraw every parameter at a larger scale, so that attention is far from uniform and every
parameter's gradient is far from zero. Computed in float64, stored as float32.

Usage: python3 scripts/pytorch/transformer_fixtures.py   (writes Tests/ModelsTests/Fixtures/transformer_small*.safetensors)
"""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file


class CausalSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        assert dim % heads == 0
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in self.qkv(x).split(d, dim=2))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        y = scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln1(x)))
        return x + self.drop(self.mlp(self.ln2(x)))


class TransformerPrior(nn.Module):
    def __init__(self, n_embeddings, dim, n_layers, heads, n_classes, max_positions, dropout=0.0, class_dropout=0.0):
        super().__init__()
        self.n_classes, self.class_dropout = n_classes, class_dropout
        # With class dropout, one more row after the classes: "no class", the label n_classes.
        rows = n_classes + (1 if n_classes > 0 and class_dropout > 0 else 0)
        self.token_embedding = nn.Embedding(n_embeddings, dim)
        self.start_embedding = nn.Embedding(max(rows, 1), dim)
        self.class_embedding = nn.Embedding(rows, dim) if n_classes > 0 else None
        self.position_embedding = nn.Embedding(max_positions, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(dim, heads, dropout) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_embeddings)
        self.apply(self._init)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, codes, labels=None):
        """codes (B, H, W) -> logits (B, K, H, W)."""
        b, h, w = codes.shape
        z = codes.reshape(b, h * w)
        if self.training and self.class_embedding is not None and self.class_dropout > 0:
            labels = torch.where(torch.rand(b) < self.class_dropout, torch.full_like(labels, self.n_classes), labels)
        start = self.start_embedding(labels if self.n_classes > 0 else torch.zeros(b, dtype=torch.long))
        x = torch.cat([start[:, None], self.token_embedding(z[:, :-1])], 1) + self.position_embedding.weight[: h * w]
        if self.class_embedding is not None:
            x = x + self.class_embedding(labels)[:, None]
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))
        return logits.transpose(1, 2).reshape(b, -1, h, w)


def write(path, n_classes, seed, class_dropout=0.0):
    torch.manual_seed(seed)
    arch = dict(n_embeddings=16, dim=32, n_layers=2, heads=4, n_classes=n_classes, max_positions=20, dropout=0.0)
    if class_dropout > 0:
        arch["class_dropout"] = class_dropout
    batch, height, width = 3, 4, 4
    model = TransformerPrior(**arch).double()
    # Evaluation mode: the labels as given (with class dropout, the second grid's is "no class").
    model.eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() == 1:  # LayerNorm scales
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif "embedding" in name:
                p.copy_(0.5 * torch.randn_like(p))
            else:
                p.copy_((0.3 if p.dim() == 2 else 0.1) * torch.randn_like(p))
    codes = torch.randint(0, arch["n_embeddings"], (batch, height, width))
    labels = torch.randint(0, n_classes, (batch,)) if n_classes > 0 else None
    if class_dropout > 0:
        labels[1] = n_classes
    logits = model(codes, labels)
    loss = F.cross_entropy(logits, codes)
    loss.backward()
    tensors = {name: p.detach().float().contiguous() for name, p in model.named_parameters()}
    tensors.update({f"grad.{name}": p.grad.float().contiguous() for name, p in model.named_parameters()})
    tensors["input"] = codes
    if labels is not None:
        tensors["labels"] = labels
    tensors["logits"] = logits.detach().float().contiguous()
    tensors["loss"] = loss.detach().float().reshape(1)
    metadata = {k: str(v) for k, v in arch.items()}
    metadata.update(batch=str(batch), height=str(height), width=str(width),
                    what="a small GPT prior: parameters, input codes (B, H, W), labels, logits (B, K, H, W), mean "
                         "cross-entropy loss, grad.<name> of the loss; see scripts/pytorch/transformer_fixtures.py")
    save_file(tensors, path, metadata=metadata)
    print(f"{path}: loss {loss.item():.6f}")


if __name__ == "__main__":
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "ModelsTests", "Fixtures")
    write(os.path.normpath(os.path.join(folder, "transformer_small.safetensors")), n_classes=3, seed=22)
    write(os.path.normpath(os.path.join(folder, "transformer_small_uncond.safetensors")), n_classes=0, seed=23)
    write(os.path.normpath(os.path.join(folder, "transformer_small_guidable.safetensors")), n_classes=3, seed=24,
          class_dropout=0.1)
