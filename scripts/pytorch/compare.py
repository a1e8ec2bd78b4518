#!/usr/bin/env python3
"""Print one table of vqvae-bench and the PyTorch reference, measured in the same invocation, with the ratios.

  python3 compare.py OURS.json TORCH.json [--markdown]

OURS.json is `vqvae-bench --json`; TORCH.json is what `run_bench.py --out X.md` writes beside X.md (X.json).
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
    ours = {r["name"]: r for r in json.load(open(args[0]))["rows"]}
    torch = json.load(open(args[1]))
    theirs = {r["key"]: r for r in torch["rows"]}
    rss = {(r["in_ch"], r["batch"]): r for r in torch["rss"]}
    rows = []
    for name, key, label in TIMED:
        if name in ours and key in theirs:
            a, b = ours[name]["median_ms"], theirs[key]["median_s"] * 1000
            rows.append((label, fmt_ms(a), fmt_ms(b), f"{b / a:.2f}x"))
    for name, key, label in MEMORY:
        if name in ours and ours[name].get("peak_rss_mib") and key in rss:
            a, b = ours[name]["peak_rss_mib"], rss[key]["peak_rss_mib"]
            rows.append((label, f"{a:.0f} MiB", f"{b:.0f} MiB", f"{b / a:.2f}x"))
    header = ("benchmark", "Swift (vqvae-bench)", f"PyTorch {torch['torch']}", "PyTorch / Swift")
    if "--markdown" in sys.argv:
        print("| " + " | ".join(header) + " |")
        print("|---|---:|---:|---:|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    main()
