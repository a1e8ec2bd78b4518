#!/usr/bin/env python3
"""Prints the stage-by-stage table of scripts/bench-vs-pytorch.sh --pipeline: this toolkit's stage times (from
scripts/pipeline.sh's log) against scripts/pytorch/pipeline.py's, each side's best round, and both sides' figures.

  python3 compare_pipelines.py OUT_DIR ROUNDS"""
import json, os, re, sys

out, rounds = sys.argv[1], int(sys.argv[2])
stages = [("vqvae-train", "vqvae_seconds"), ("extract-latents", "latents_seconds"), ("gated-pixelcnn", "prior_seconds"),
          ("sample", "sample_seconds")]
ours, theirs = [], []
for r in range(1, rounds + 1):
    log = open(os.path.join(out, f"swift-{r}.log")).read()
    times = {m.group(1): float(m.group(2)) for m in re.finditer(r"== (\S+) done in (\d+) s", log)}
    run = os.path.join(out, f"swift-run-{r}")
    summary = json.load(open(os.path.join(run, "summary.json")))
    prior = json.load(open(os.path.join(run, "prior", "summary.json")))
    ours.append((times, summary, prior))
    theirs.append(json.load(open(os.path.join(out, f"pytorch-{r}.json"))))

best = lambda values: min(values)
print("| stage | this toolkit | PyTorch | PyTorch / ours |")
print("|---|---:|---:|---:|")
total_ours = total_theirs = 0.0
for name, key in stages:
    a = best([t[name] for t, _, _ in ours])
    b = best([p[key] for p in theirs])
    total_ours, total_theirs = total_ours + a, total_theirs + b
    print(f"| {name} | {a:.0f} s | {b:.1f} s | {b / max(a, 0.5):.2f}x |")
print(f"| all four stages | {total_ours:.0f} s | {total_theirs:.1f} s | {total_theirs / max(total_ours, 0.5):.2f}x |")
_, summary, prior = ours[-1]
p = theirs[-1]
print()
print(f"this toolkit: test NMSE {summary['test_normalized_mse']:.4f}, codes used {summary['test_codes_used']}, "
      f"prior {prior['test_bits_per_latent']:.3f} bits per latent")
print(f"PyTorch:      test NMSE {p['test_normalized_mse']:.4f}, codes used {p['test_codes_used']}, "
      f"prior {p['test_bits_per_latent']:.3f} bits per latent")
print("(this toolkit's stage times are whole seconds, as scripts/pipeline.sh prints them; sampling is under 1 s)")
