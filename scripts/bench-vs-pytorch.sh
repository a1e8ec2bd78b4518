#!/usr/bin/env bash
# Runs vqvae-bench and the PyTorch reference (scripts/pytorch/run_bench.py) in one invocation and prints one table
# of both with the ratios. The machine is noisy: only ratios measured side by side in one run mean anything.
#   scripts/bench-vs-pytorch.sh [--rounds N] [--markdown] [--rows PREFIXES]   (needs `pip install torch numpy`;
#     ~4 minutes a round; --rows transformer,pixelcnn.sample: only the rows whose vqvae-bench name starts so)
#   scripts/bench-vs-pytorch.sh --pipeline quick|default|smoke [--rounds N]
# With N rounds the two sides alternate N times; each side's figure is its best round, and the table adds the range
# of the round-by-round ratios. --pipeline times whole pipelines instead: scripts/pipeline.sh with that preset against
# scripts/pytorch/pipeline.py with the same config and extraction limits, stage by stage (the build not counted).
# Results (the JSONs, PyTorch's reports and the table) go to outputs/bench-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=1
markdown=()
rows=()
pipeline=""
while [ $# -gt 0 ]; do
  case "$1" in
    --pipeline)
      pipeline="${2:-}"
      shift 2 || true
      ;;
    --rounds)
      rounds="${2:-}"
      shift 2 || true
      ;;
    --markdown)
      markdown=(--markdown)
      shift
      ;;
    --rows)
      [ -n "${2:-}" ] || {
        echo "bench-vs-pytorch: --rows needs comma-separated row-name prefixes (transformer,pixelcnn.sample)" >&2
        exit 2
      }
      rows=(--rows "$2")
      shift 2
      ;;
    *)
      echo "bench-vs-pytorch: unknown argument '$1' (usage: scripts/bench-vs-pytorch.sh [--rounds N] [--markdown]" \
        "[--rows PREFIXES] [--pipeline quick|default|smoke])" >&2
      exit 2
      ;;
  esac
done
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench-vs-pytorch: --rounds needs a positive whole number, got '$rounds'" >&2
  exit 2
fi
python3 -c 'import torch' 2>/dev/null || {
  echo "bench-vs-pytorch: PyTorch is not installed; run: python3 -m pip install torch numpy" >&2
  exit 1
}
out="outputs/bench-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
threads="${OMP_NUM_THREADS:-2}"

if [ -n "$pipeline" ]; then
  case "$pipeline" in
    quick) config=configs/quick.json limits=(--train-limit 20000 --test-limit 2000) ;;
    smoke) config=configs/smoke.json limits=(--train-limit 600 --test-limit 200) ;;
    default) config=configs/fashion-mnist.json limits=() ;;
    *)
      echo "bench-vs-pytorch: --pipeline takes quick, default or smoke, got '$pipeline'" >&2
      exit 2
      ;;
  esac
  flag=(); [ "$pipeline" = default ] || flag=("--$pipeline")
  for round in $(seq 1 "$rounds"); do
    echo "== round $round of $rounds: scripts/pipeline.sh ${flag[*]}"
    scripts/pipeline.sh "${flag[@]}" --output-dir "$out/swift-run-$round" >"$out/swift-$round.log"
    echo "== round $round of $rounds: scripts/pytorch/pipeline.py --config $config ${limits[*]}"
    python3 scripts/pytorch/pipeline.py --config "$config" "${limits[@]}" --threads "$threads" \
      >"$out/pytorch-$round.json"
  done
  python3 scripts/pytorch/compare_pipelines.py "$out" "$rounds" | tee "$out/table.txt"
  echo "(all figures in $out/)"
  exit 0
fi
# SWIFT_BUILD_FLAGS: extra `swift build` flags, as for scripts/pipeline.sh (SWIFT_BUILD_FLAGS="-j 1" on a shared machine).
read -r -a flags <<<"${SWIFT_BUILD_FLAGS:-}"
swift build -c release "${flags[@]}" --product vqvae-bench
ours=()
theirs=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round of $rounds: vqvae-bench ($threads threads)"
  .build/release/vqvae-bench --threads "$threads" --json "${rows[@]}" >"$out/swift-$round.json"
  echo "== round $round of $rounds: PyTorch reference ($threads threads)"
  python3 scripts/pytorch/run_bench.py --threads "$threads" --out "$out/pytorch-$round.md" "${rows[@]}" \
    >"$out/pytorch-$round.log"
  ours+=("$out/swift-$round.json")
  theirs+=("$out/pytorch-$round.json")
done
python3 scripts/pytorch/compare.py "$(IFS=,; echo "${ours[*]}")" "$(IFS=,; echo "${theirs[*]}")" "${markdown[@]}" \
  | tee "$out/table.txt"
echo "(all figures in $out/)"
