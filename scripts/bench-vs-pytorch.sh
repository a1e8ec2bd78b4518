#!/usr/bin/env bash
# Runs vqvae-bench and the PyTorch reference (scripts/pytorch/run_bench.py) in one invocation and prints one table
# of both with the ratios. The machine is noisy: only ratios measured side by side in one run mean anything.
#   scripts/bench-vs-pytorch.sh [--markdown]     (needs `pip install torch numpy`; ~6 minutes on 2 cores)
# Results (both JSONs, PyTorch's report and the table) go to outputs/bench-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import torch' 2>/dev/null || {
  echo "bench-vs-pytorch: PyTorch is not installed; run: python3 -m pip install torch numpy" >&2
  exit 1
}
out="outputs/bench-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
threads="${OMP_NUM_THREADS:-2}"
swift build -c release --product vqvae-bench
echo "== vqvae-bench ($threads threads)"
.build/release/vqvae-bench --threads "$threads" --json >"$out/swift.json"
echo "== PyTorch reference ($threads threads)"
python3 scripts/pytorch/run_bench.py --threads "$threads" --out "$out/pytorch.md" >"$out/pytorch.log"
python3 scripts/pytorch/compare.py "$out/swift.json" "$out/pytorch.json" "$@" | tee "$out/table.txt"
echo "(all figures in $out/)"
