#!/usr/bin/env python3
"""Print one table of vqvae-bench and the PyTorch reference, measured in the same invocation, with the ratios.

  python3 compare.py OURS.json[,OURS2.json...] TORCH.json[,TORCH2.json...] [--markdown]

OURS.json is `vqvae-bench --json`; TORCH.json is what `run_bench.py --out X.md` writes beside X.md (X.json).
Given several rounds (comma-separated, in the order they ran, alternating the two sides), each side's figure is
its best round (the lowest median, or peak RSS), and a last column gives the range of the ratios round by round.
A ratio above 1 means the Swift toolkit is faster (time) or lighter (memory)."""
import json
import sys

# (our row, PyTorch row key, label)
TIMED = [
    ("vqvae.train_step.b32.3x32x32", "vqvae_train_3x32x32_b32", "VQ-VAE train step 3x32x32, batch 32"),
    ("vqvae.train_step.b32.1x32x32", "vqvae_train_1x32x32_b32", "VQ-VAE train step 1x32x32, batch 32"),
    ("vqvae.train_step.b128.1x32x32", "vqvae_train_1x32x32_b128", "VQ-VAE train step 1x32x32, batch 128"),
    ("vqvae.encode.10000", "vqvae_encode_10k_1x32x32_b256", "VQ-VAE encode 10,000 images (batch 256)"),
    ("vqvae.decode.100", "vqvae_decode_100_1x32x32", "VQ-VAE decode 100 grids -> 1x32x32"),
    ("pixelcnn.train_step.b32", "pixelcnn_train_8x8_b32", "PixelCNN train step 8x8, batch 32"),
    ("pixelcnn.train_step.b128", "pixelcnn_train_8x8_b128", "PixelCNN train step 8x8, batch 128"),
    ("pixelcnn.sample.100", "pixelcnn_sample_100x8x8", "PixelCNN sample 100 grids 8x8"),
    ("transformer.train_step.b32", "transformer_train_8x8_b32", "Transformer train step 8x8, batch 32 (AdamW)"),
    ("transformer.sample.100", "transformer_sample_100x8x8", "Transformer sample 100 grids 8x8 (key/value cache)"),
]
# (our train-step row whose peak RSS we report, PyTorch (channels, batch))
MEMORY = [
    ("vqvae.train_step.b32.3x32x32", (3, 32), "peak RSS, VQ-VAE training 3x32x32, batch 32"),
    ("vqvae.train_step.b32.1x32x32", (1, 32), "peak RSS, VQ-VAE training 1x32x32, batch 32"),
    ("vqvae.train_step.b128.1x32x32", (1, 128), "peak RSS, VQ-VAE training 1x32x32, batch 128"),
]


def fmt_ms(ms):
    return f"{ms:.1f} ms" if ms < 2000 else f"{ms / 1000:.2f} s"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    ours_rounds = [{r["name"]: r for r in json.load(open(f))["rows"]} for f in args[0].split(",")]
    torch_rounds = [json.load(open(f)) for f in args[1].split(",")]
    if len(ours_rounds) != len(torch_rounds):
        sys.exit(f"compare.py: {len(ours_rounds)} rounds of ours but {len(torch_rounds)} of PyTorch")
    theirs_rounds = [{r["key"]: r for r in t["rows"]} for t in torch_rounds]
    rss_rounds = [{(r["in_ch"], r["batch"]): r for r in t["rss"]} for t in torch_rounds]
    rounds = len(ours_rounds)

    def row(label, ours, theirs, fmt):
        """ours and theirs: one figure per round (None where a round lacks the row)."""
        pairs = [(a, b) for a, b in zip(ours, theirs) if a is not None and b is not None]
        if not pairs:
            return None
        a, b = min(p[0] for p in pairs), min(p[1] for p in pairs)
        ratios = [q / p for p, q in pairs]
        spread = f"{min(ratios):.2f}–{max(ratios):.2f}x" if len(ratios) > 1 else ""
        return (label, fmt(a), fmt(b), f"{b / a:.2f}x") + ((spread,) if rounds > 1 else ())

    rows = []
    for name, key, label in TIMED:
        ours = [o[name]["median_ms"] if name in o else None for o in ours_rounds]
        theirs = [t[key]["median_s"] * 1000 if key in t else None for t in theirs_rounds]
        rows.append(row(label, ours, theirs, fmt_ms))
    for name, key, label in MEMORY:
        ours = [o[name].get("peak_rss_mib") if name in o else None for o in ours_rounds]
        theirs = [r[key]["peak_rss_mib"] if key in r else None for r in rss_rounds]
        rows.append(row(label, ours, theirs, lambda mib: f"{mib:.0f} MiB"))
    rows = [r for r in rows if r]
    best = f" (best of {rounds})" if rounds > 1 else ""
    header = (
        "benchmark", f"Swift (vqvae-bench){best}", f"PyTorch {torch_rounds[0]['torch']}{best}", "PyTorch / Swift"
    ) + (("round by round",) if rounds > 1 else ())
    if "--markdown" in sys.argv:
        print("| " + " | ".join(header) + " |")
        print("|---|" + "---:|" * (len(header) - 1))
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    main()
