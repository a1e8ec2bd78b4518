#!/usr/bin/env bash
# Training speed of the default models in one process against several (mpirun), on this machine: updates/s of a
# real vqvae-train and gated-pixelcnn run (data, logging and the exchange included; no evaluation or checkpoint
# until the end), alternating the two ways twice, and the bytes all-reduced per update. The figures for
# docs/BENCHMARKS.md.
#
#   scripts/bench-mpi.sh [UPDATES] [RANKS]     (defaults: 300 updates, 2 processes)
#
# The prior trains on a LATENT_BLOCK: outputs/pipeline-default/latents when scripts/pipeline.sh has made it, else
# the smoke pipeline's (made here).
set -euo pipefail
cd "$(dirname "$0")/.."
updates="${1:-300}"
ranks="${2:-2}"
cores="$(nproc)"
# SWIFT_BUILD_FLAGS: extra `swift build` flags, as for scripts/pipeline.sh (a build with other flags is a new one).
read -r -a flags <<<"${SWIFT_BUILD_FLAGS:-}"
swift build -c release "${flags[@]}" >/dev/null
bin=$(swift build -c release "${flags[@]}" --show-bin-path)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

latents=outputs/pipeline-default/latents
if [ ! -f "$latents/latents.json" ]; then
  SWIFT_BUILD_FLAGS="${SWIFT_BUILD_FLAGS:-}" scripts/pipeline.sh --smoke --output-dir "$work/smoke" >/dev/null
  latents="$work/smoke/latents"
fi

common=(--n-updates "$updates" --log-interval "$updates" --eval-every 0 --eval-batches 1 --save-every 0 --test-limit 64
  --no-tensorboard)
speed() { python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "\"train\"" in l][-1]["updates_per_s"])' "$1/metrics.jsonl"; }

run() { # run NAME PROCESSES COMMAND ARGS...
  local name="$1" processes="$2"
  shift 2
  local out="$work/$name-$processes-$RANDOM"
  if [ "$processes" = 1 ]; then
    OMP_NUM_THREADS="$cores" "$bin/$1" "${@:2}" --output-dir "$out" >"$out.log" 2>&1
  else
    OMP_NUM_THREADS=$((cores / processes > 0 ? cores / processes : 1)) mpirun --allow-run-as-root --oversubscribe \
      -np "$processes" "$bin/$1" "${@:2}" --output-dir "$out" >"$out.log" 2>&1
    grep -o "[0-9.]* MB all-reduced per update" "$out.log" | head -1 >"$work/bytes-$name" || true
  fi
  speed "$out"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores cores; $updates updates"
for round in 1 2; do
  for processes in 1 "$ranks"; do
    v=$(run vqvae "$processes" vqvae-train "${common[@]}")
    p=$(run prior "$processes" gated-pixelcnn --dataset LATENT_BLOCK --latents "$latents" "${common[@]}")
    threads=$((processes == 1 ? cores : (cores / processes > 0 ? cores / processes : 1)))
    echo "round $round: $processes process(es) x $threads thread(s): vqvae-train $v updates/s, gated-pixelcnn $p updates/s"
  done
done
for name in vqvae prior; do echo "$name: $(cat "$work/bytes-$name" 2>/dev/null || echo '?')"; done
