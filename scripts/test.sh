#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs the system packages when one is missing
# (scripts/setup.sh), checks the code style, builds and runs every test in release mode (numeric tests are
# 10-100x slower in debug), runs all four stages of the pipeline on its smoke preset, then fuzzes each file reader
# for 10 s (scripts/fuzz.sh: a sanitizer build of its own, about 2-3 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "test: swift format lint"
swift format lint --strict --recursive Sources Tests Fuzz/Sources

# The Python readers that check the toolkit's files independently (numpy for .npy, TensorBoard's EventAccumulator for
# the event files); the toolkit itself never needs Python.
if ! python3 -c "import numpy, tensorboard" 2>/dev/null; then
  echo "test: pip install numpy tensorboard (readers for the format tests)"
  python3 -m pip install -q numpy tensorboard 2>/dev/null ||
    python3 -m pip install -q --break-system-packages numpy tensorboard
fi

echo "test: swift test (release)"
swift test -c release -Xswiftc -enable-testing "$@"

echo "test: the four stages end to end (scripts/pipeline.sh --smoke)"
smoke="$(mktemp -d)"
trap 'rm -rf "$smoke"' EXIT
# The same build flags as the tests', so the pipeline reuses their build.
SWIFT_BUILD_FLAGS="-Xswiftc -enable-testing" scripts/pipeline.sh --smoke --output-dir "$smoke/run"

echo "test: the same with both trainings in two processes (scripts/pipeline.sh --smoke --processes 2)"
SWIFT_BUILD_FLAGS="-Xswiftc -enable-testing" scripts/pipeline.sh --smoke --processes 2 --output-dir "$smoke/mpi" |
  tee "$smoke/mpi.log" | grep -E "^== |done in"
grep -q "2 processes (mpirun)" "$smoke/mpi.log" || { echo "test: --processes 2 did not train under mpirun" >&2; exit 1; }
[ -s "$smoke/mpi/samples.png" ] || { echo "test: --processes 2 wrote no samples.png" >&2; exit 1; }
for bad in 0 abc $(($(nproc) + 1)) 99999999999999999999; do
  if scripts/pipeline.sh --processes "$bad" 2>"$smoke/bad.txt" || ! grep -q "needs a whole number" "$smoke/bad.txt"; then
    echo "test: scripts/pipeline.sh --processes $bad was not refused by name" >&2
    exit 1
  fi
done

echo "test: fuzz the file readers, 10 s each (scripts/fuzz.sh 10)"
scripts/fuzz.sh 10
