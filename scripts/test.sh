#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs the system packages when one is missing
# (scripts/setup.sh), checks the code style, builds and runs every test in release mode (numeric tests are
# 10-100x slower in debug), runs all four stages of the pipeline on its smoke preset (in one process, as the default
# picks here, and with a broken mpirun), then fuzzes each file reader for 10 s (scripts/fuzz.sh: a sanitizer build of
# its own, about 2-3 minutes on 2 cores).
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

echo "test: the four stages end to end in one process (scripts/pipeline.sh --smoke --processes 1)"
smoke="$(mktemp -d)"
trap 'rm -rf "$smoke"' EXIT
# The same build flags as the tests', so the pipeline reuses their build.
export SWIFT_BUILD_FLAGS="-Xswiftc -enable-testing"
scripts/pipeline.sh --smoke --processes 1 --output-dir "$smoke/run"

echo "test: the same as the default runs them here (scripts/pipeline.sh --smoke)"
scripts/pipeline.sh --smoke --output-dir "$smoke/default" | tee "$smoke/default.log" |
  grep -E "^pipeline: both|^== |done in"
[ -s "$smoke/default/samples.png" ] || { echo "test: the default run wrote no samples.png" >&2; exit 1; }
if [ "$(nproc)" -ge 2 ]; then
  grep -q "2 processes (mpirun)" "$smoke/default.log" ||
    { echo "test: on $(nproc) cores the default did not train in two processes under mpirun" >&2; exit 1; }

  echo "test: where mpirun cannot start two processes, the default trains in one"
  mkdir "$smoke/bin"
  printf '#!/bin/sh\nexit 1\n' >"$smoke/bin/mpirun"
  chmod +x "$smoke/bin/mpirun"
  PATH="$smoke/bin:$PATH" scripts/pipeline.sh --smoke --output-dir "$smoke/fallback" >"$smoke/fallback.log"
  grep -q "in one process, a thread per core (mpirun -np 2 does not start here)" "$smoke/fallback.log" ||
    { echo "test: the default did not fall back to one process:" >&2; cat "$smoke/fallback.log" >&2; exit 1; }
  [ -s "$smoke/fallback/samples.png" ] || { echo "test: the one-process fallback wrote no samples.png" >&2; exit 1; }
fi
for bad in 0 abc $(($(nproc) + 1)) 99999999999999999999; do
  if scripts/pipeline.sh --processes "$bad" 2>"$smoke/bad.txt" ||
    ! grep -q "needs auto or a whole number" "$smoke/bad.txt"; then
    echo "test: scripts/pipeline.sh --processes $bad was not refused by name" >&2
    exit 1
  fi
done

echo "test: fuzz the file readers, 10 s each (scripts/fuzz.sh 10)"
scripts/fuzz.sh 10
