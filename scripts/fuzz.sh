#!/usr/bin/env bash
# Fuzzes the toolkit's file readers with libFuzzer: builds Fuzz/ (the fuzz-readers harness, on the toolkit's library
# products) with libFuzzer and AddressSanitizer into .build-fuzz/, then runs each reader for SECONDS on a copy
# of its seeds (Fuzz/Corpus/<reader>/, made by Fuzz/make-corpus.py) with its dictionary (Fuzz/Dictionaries/).
#   scripts/fuzz.sh [SECONDS] [READER...]   SECONDS per reader (default 60); READERs (default all): idx-images
#                                           idx-labels cifar10 png npy latent-block safetensors config events
# Why: the readers take files from downloads, users and earlier runs, so a corrupt or hostile file must give an error
# naming it, never a crash, a memory error, a hang or a huge allocation. A thrown error is the right answer; a trap,
# an abort, an AddressSanitizer report, an input over 10 s (-timeout) or over 2 GB (-rss_limit_mb) is a finding.
# libFuzzer stops at a finding; the script starts it again on the grown corpus until SECONDS are up, so that one
# shallow bug does not end a reader's run. Every input that once failed is kept in Fuzz/Regressions/<reader>/ and
# replayed at the start of each run. Findings go to Fuzz/Findings/<reader>/ (git-ignored), one input per
# distinct failure (kind and the first frame in Sources/), with <input>.log holding its report; the script prints one
# line per reader and exits 1 if any reader had a finding. Replay one with
#   FUZZ_READER=png SWIFT_BACKTRACE=enable=no .build-fuzz/debug/fuzz-readers Fuzz/Findings/png/crash-<sha1>
# and see what each step of a reader makes of an input with FUZZ_VERBOSE=1 in front.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(idx-images idx-labels cifar10 png npy latent-block safetensors config events)
seconds=60
if [ $# -gt 0 ]; then
  case "$1" in
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]* | "") ;;
    *) seconds=$1; shift ;;
  esac
fi
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=("${all[@]}")
for reader in "${readers[@]}"; do
  [[ " ${all[*]} " == *" $reader "* ]] || { echo "fuzz: unknown reader '$reader' (${all[*]})" >&2; exit 2; }
done

# The largest input libFuzzer makes, per reader: room for a few records or images beyond the seeds.
max_len() {
  case "$1" in
    idx-labels) echo 1024 ;;
    npy | events) echo 4096 ;;
    png | latent-block | config) echo 8192 ;;
    *) echo 16384 ;;
  esac
}

work=$(mktemp -d "$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "fuzz: building fuzz-readers (libFuzzer and AddressSanitizer, into .build-fuzz)"
# SwiftPM's --sanitize=fuzzer --sanitize=address would do, but it hands the two values to swiftc as two -sanitize=
# flags in an order that changes from run to run, and swift-driver (6.3) keeps only the last: the Swift code got
# either coverage or AddressSanitizer, never both, and every change of order rebuilt everything. So: one
# --sanitize (fuzzer: the C code's coverage and libFuzzer), then both for swiftc in one flag (given after SwiftPM's,
# so the one swift-driver keeps; it also links both runtimes) and AddressSanitizer for the C code.
build=(swift build --package-path Fuzz --scratch-path .build-fuzz --sanitize=fuzzer
  -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address --product fuzz-readers)
start=$SECONDS
if ! "${build[@]}" >"$work/build.log" 2>&1; then
  grep -E "error" "$work/build.log" >&2 || tail -n 40 "$work/build.log" >&2
  echo "fuzz: the build failed (${build[*]})" >&2
  exit 1
fi
bin="$("${build[@]}" --show-bin-path)/fuzz-readers"
echo "fuzz: built in $((SECONDS - start)) s; $seconds s per reader"

# What failed and where, from a libFuzzer log: the sanitizer's or libFuzzer's error, the Swift runtime failure if
# any, and the first stack frame in the toolkit's Sources/ (else in the harness). Inputs with the same one are the
# same bug.
signature() {
  local kind failure frame
  kind=$(grep -m1 -oE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer): [a-zA-Z -]+" "$1" |
    sed -E 's/^ERROR: //; s/ (on|after|from)( .*)?$//; s/ +$//' || true)
  failure=$(grep -m1 -oE "(Fatal error|Swift runtime failure|Precondition failed|Assertion failed)[^/]*" "$1" |
    sed -E 's/ +$//' || true)
  frame=$(grep -E "^ +#[0-9]+ 0x[0-9a-f]+ in .* /[^ ]*/Sources/[^ ]*:[0-9]+" "$1" | grep -v "/Fuzz/Sources/" |
    head -n 1 | grep -oE "Sources/[^ ]*:[0-9]+" | head -n 1 || true)
  [ -n "$frame" ] || frame=$(grep -m1 -oE "Fuzz/Sources/[^ ]*:[0-9]+" "$1" || true)
  echo "${kind:-unknown failure}${failure:+: $failure} at ${frame:-?}"
}

failed=()
for reader in "${readers[@]}"; do
  corpus="$work/$reader/corpus"
  findings="Fuzz/Findings/$reader"
  mkdir -p "$corpus" "$work/$reader/scratch" "$work/$reader/artifacts"
  cp -R "Fuzz/Corpus/$reader/." "$corpus/"
  options=(-max_len="$(max_len "$reader")" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
    -artifact_prefix="$work/$reader/artifacts/")
  [ -f "Fuzz/Dictionaries/$reader.dict" ] && options+=(-dict="Fuzz/Dictionaries/$reader.dict")
  regressions=""
  [ -d "Fuzz/Regressions/$reader" ] && regressions="Fuzz/Regressions/$reader"
  deadline=$((SECONDS + seconds))
  execs=0 runs=0 new=0 repeats=0 last_status=""
  while :; do
    left=$((deadline - SECONDS))
    [ "$left" -ge 1 ] && [ "$runs" -lt 100 ] || break
    runs=$((runs + 1))
    log="$work/$reader/run-$runs.log"
    # Inputs of past findings (Fuzz/Regressions/<reader>/) are read with the seeds, so each run replays them first.
    FUZZ_READER=$reader FUZZ_SCRATCH="$work/$reader/scratch" SWIFT_BACKTRACE=enable=no \
      "$bin" "$corpus" ${regressions:+"$regressions"} -max_total_time="$left" "${options[@]}" >"$log" 2>&1 || true
    execs=$((execs + $(grep -m1 -oE "number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo 0)))
    status=$(grep -E "^#[0-9]+.*cov: " "$log" | tail -n 1 || true)
    [ -z "$status" ] || last_status=$status
    artifact=$(grep -m1 -oE "Test unit written to [^ ]+" "$log" | sed 's/^Test unit written to //' || true)
    if [ -z "$status" ] && [ -z "$artifact" ]; then
      tail -n 20 "$log" >&2
      echo "fuzz: $reader: fuzz-readers stopped before fuzzing (its output above)" >&2
      exit 1
    fi
    [ -n "$artifact" ] && [ -f "$artifact" ] || continue
    # A finding: keep its input and report, unless it repeats one kept before (in this run or a past one).
    sig=$(signature "$log")
    name=$(basename "$artifact")
    if grep -qFx "$sig" "$findings"/*.signature 2>/dev/null; then
      repeats=$((repeats + 1))
      continue
    fi
    new=$((new + 1))
    mkdir -p "$findings"
    cp "$artifact" "$findings/$name"
    cp "$log" "$findings/$name.log"
    echo "$sig" >"$findings/$name.signature"
    echo "fuzz: $reader: $findings/$name: $sig"
  done
  corp=$(echo "$last_status" | grep -oE "corp: [0-9]+" | grep -oE "[0-9]+" || echo "?")
  cov=$(echo "$last_status" | grep -oE "cov: [0-9]+" | grep -oE "[0-9]+" || echo "?")
  ft=$(echo "$last_status" | grep -oE "ft: [0-9]+" | grep -oE "[0-9]+" || echo "?")
  total=$((new + repeats))
  printf "fuzz: %-13s %9d execs in %3d s  cov: %5s  ft: %6s  corpus: %5s  findings: %d (%d kept, %d repeats)\n" \
    "$reader" "$execs" "$seconds" "$cov" "$ft" "$corp" "$total" "$new" "$repeats"
  [ "$total" -eq 0 ] || failed+=("$reader")
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}: inputs, reports (.log) and signatures in Fuzz/Findings/<reader>/" >&2
  exit 1
fi
echo "fuzz: no findings"
