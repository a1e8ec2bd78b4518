#!/usr/bin/env bash
# The whole pipeline on the embedded Fashion-MNIST, on a fresh Debian machine:
#   set-up (when a system package is missing) -> build -> vqvae-train -> extract-latents -> gated-pixelcnn -> sample
# into one run folder.
#
#   scripts/pipeline.sh            the default run (configs/fashion-mnist.json; see the README for its wall time)
#   scripts/pipeline.sh --quick    a few minutes on 2 cores (configs/quick.json): smaller models, shorter runs
#   scripts/pipeline.sh --smoke    seconds of training (configs/smoke.json): checks that every stage runs (CI)
#   --config FILE                  any pipeline config (configs/*.json: top-level keys for the VQ-VAE, "prior" for the
#                                  prior), such as configs/folder-64.json
#   --output-dir DIR               run folder (default outputs/pipeline-<preset or config name>-<time>)
#   --processes N|auto             train both models data-parallel in N processes, at most one per core
#                                  (mpirun -np N, each with cores / N engine threads); 1: one process with a thread
#                                  per core. Default auto: 2 where the machine has 2 cores or more and `mpirun -np 2`
#                                  runs, else 1
# Any stage that fails stops the script with that stage's message.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=default
run=""
processes=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) preset=quick ;;
    --smoke) preset=smoke ;;
    --config)
      [ $# -ge 2 ] || { echo "pipeline: --config needs a file" >&2; exit 2; }
      [ -f "$2" ] || { echo "pipeline: --config $2: no such file" >&2; exit 2; }
      preset=config
      config="$2"
      shift
      ;;
    --output-dir | --output_dir)
      [ $# -ge 2 ] || { echo "pipeline: --output-dir needs a folder" >&2; exit 2; }
      run="$2"
      shift
      ;;
    --processes)
      # One machine: more processes than cores would only share them, each with a copy of the data and model.
      [[ $# -ge 2 && ( "$2" = auto || ( "$2" =~ ^[1-9][0-9]{0,5}$ && "$2" -le $(nproc) ) ) ]] || {
        echo "pipeline: --processes needs auto or a whole number of processes from 1 to this machine's $(nproc)" \
          "cores, got '${2:-}'" >&2
        exit 2
      }
      processes="$2"
      shift
      ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pipeline: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# Each preset: one config for both trainings (the prior reads its "prior" object), and the images to encode.
case "$preset" in
  default) config=configs/fashion-mnist.json extract=() ;;
  quick) config=configs/quick.json extract=(--train-limit 20000 --test-limit 2000) ;;
  smoke) config=configs/smoke.json extract=(--train-limit 600 --test-limit 200) ;;
  config) extract=() ;;
esac
name=$preset
[ "$preset" = config ] && name=$(basename "$config" .json)
run="${run:-outputs/pipeline-$name-$(date -u +%Y%m%d-%H%M%S)}"

scripts/setup.sh
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
echo "pipeline: building (release)"
# SWIFT_BUILD_FLAGS: extra `swift build` flags (scripts/test.sh passes its own so that the build is shared).
read -r -a flags <<<"${SWIFT_BUILD_FLAGS:-}"
if ! swift build -c release "${flags[@]}" >"$build_log" 2>&1; then
  grep -E "error" "$build_log" >&2 || cat "$build_log" >&2
  echo "pipeline: the build failed" >&2
  exit 1
fi
bin=$(swift build -c release "${flags[@]}" --show-bin-path)

# The trainings under mpirun when --processes asks for, or auto picks, more than one (root needs mpirun's consent).
mpi_flags=(--oversubscribe)
[ "$(id -u)" = 0 ] && mpi_flags+=(--allow-run-as-root)
why=""
if [ "$processes" = auto ]; then
  # Two processes of half the cores each train faster than one process's threads, which pass every tensor between
  # cores, and end at figures of the same spread over seeds (README, "Two commands"). One where mpirun cannot.
  processes=1
  if [ "$(nproc)" -lt 2 ]; then
    why="one core"
  elif ! command -v mpirun >/dev/null; then
    why="no mpirun (scripts/setup.sh installs it)"
  elif ! timeout 60 mpirun -np 2 "${mpi_flags[@]}" true >/dev/null 2>&1; then
    why="mpirun -np 2 does not start here"
  else
    processes=2
  fi
fi
launch=()
if [ "$processes" -gt 1 ]; then
  command -v mpirun >/dev/null || { echo "pipeline: --processes $processes needs mpirun (scripts/setup.sh)" >&2; exit 1; }
  threads=$(($(nproc) / processes))
  launch=(env OMP_NUM_THREADS=$threads mpirun -np "$processes" "${mpi_flags[@]}")
  echo "pipeline: both trainings data-parallel in $processes processes" \
    "(mpirun -np $processes, OMP_NUM_THREADS=$threads; --processes 1 for one)"
else
  echo "pipeline: both trainings in one process, a thread per core${why:+ ($why)}"
fi

stage() { # stage NAME [--parallel] ARGS...: one stage, its time, and its failure named
  local name="$1" prefix=()
  shift
  if [ "${1:-}" = --parallel ]; then
    prefix=("${launch[@]}")
    shift
  fi
  echo
  echo "== $name"
  local start=$SECONDS
  if ! "${prefix[@]}" "$bin/$name" "$@"; then
    echo "pipeline: stage $name failed (see its message above); run folder: $run" >&2
    exit 1
  fi
  echo "== $name done in $((SECONDS - start)) s"
}

start=$SECONDS
stage vqvae-train --parallel --config "$config" --output-dir "$run"
stage extract-latents --checkpoint "$run" "${extract[@]}"
stage gated-pixelcnn --parallel --dataset LATENT_BLOCK --latents "$run/latents" --config "$config"
stage sample --vqvae "$run" --prior "$run/prior" --grid 10x10 --out "$run/samples.png"

echo
echo "pipeline: all four stages done in $((SECONDS - start)) s; everything is in $run/"
echo "  reconstructions  $run/images/ (originals above, reconstructions below)"
echo "  VQ-VAE summary   $run/summary.json"
echo "  latents          $run/latents/ (train_indices.npy, test_indices.npy, latents.json)"
echo "  prior summary    $run/prior/summary.json"
echo "  samples          $run/samples.png and $run/prior/images/samples.png"
[ -d "$run/tb" ] && echo "  TensorBoard      tensorboard --logdir $run (event files in tb/ and prior/tb/)"
echo "  what next        vqvae-tools reconstruct|encode|atlas|interpolate --vqvae $run,"
echo "                   vqvae-tools complete|inpaint|score --prior $run (each with --help)"
