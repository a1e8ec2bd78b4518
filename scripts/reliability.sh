#!/usr/bin/env bash
# Kills, interrupts and starves the training commands and extract-latents as a user's machine would, and checks
# that every run still ends with the weights of an uninterrupted one:
#   kill -9    at random points of vqvae-train, gated-pixelcnn and extract-latents (data loading and the time
#              before the first checkpoint included); each run is then resumed (or extract-latents run again);
#   Ctrl-C x2  two SIGINTs a millisecond apart: the checkpoint of the first must be on disk;
#   full disk  a small tmpfs that fills at the start, the middle and the end of each command; the command must
#              fail with a clear message (or finish with a warning about pictures), and after the disk is
#              enlarged the run resumes.
# A resumed run must end bit-identical (every tensor of its final checkpoint: weights, Adam, data order,
# generators) to a straight run; a re-extracted LATENT_BLOCK byte-identical. Needs root for the tmpfs part
# (it is skipped otherwise), python3 to compare tensors, and Debian's dataset-fashion-mnist.
#
# Usage: scripts/reliability.sh [KILLS_PER_COMMAND (default 20)] [DISK_SIZES_PER_COMMAND (default 8)]
set -euo pipefail
cd "$(dirname "$0")/.."

kills="${1:-20}"
sizes="${2:-8}"
swift build -c release >/dev/null
bin="$(swift build -c release --show-bin-path)"
work="$(mktemp -d)"
disk="$work/disk"
cleanup() {
  mountpoint -q "$disk" 2>/dev/null && umount "$disk"
  rm -rf "$work"
}
trap cleanup EXIT
export SWIFT_BACKTRACE=enable=no

tiny=(--n-hiddens 8 --n-residual-hiddens 4 --n-residual-layers 1 --n-embeddings 16 --embedding-dim 4 --batch-size 8
  --train-limit 256 --test-limit 64 --n-updates 200 --save-every 25 --log-interval 5 --eval-every 50)
prior=(--dim 8 --n-layers 2 --batch-size 8 --n-updates 200 --save-every 25 --log-interval 5 --eval-every 50)
extract=(--train-limit 256 --test-limit 64)
failures=0

# Whether two safetensors files hold the same tensors, bit for bit (their metadata, with wall time, may differ).
same_tensors() {
  python3 - "$1" "$2" <<'EOF'
import json, struct, sys
def tensors(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop('__metadata__', None)
    return {k: data[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]] for k, v in header.items()}
sys.exit(0 if tensors(sys.argv[1]) == tensors(sys.argv[2]) else 1)
EOF
}

# Whether two LATENT_BLOCK folders hold the same codes (latents.json names the checkpoint, so it is left out).
same_latents() {
  for f in train_indices.npy test_indices.npy train_labels.npy test_labels.npy; do
    cmp -s "$1/$f" "$2/$f" || return 1
  done
  [ -f "$2/latents.json" ] && ! ls -d "$2".tmp-* "$2".old-* >/dev/null 2>&1
}

# Runs a command in the background, kills it with SIGKILL after `seconds`; returns once it is gone.
kill_after() {
  local seconds="$1"
  shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$seconds"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Goes on with a run folder until it has its final checkpoint: --resume, or a new run into it when not even its
# config.json was written. Prints the first error line of any attempt that failed.
finish_run() {
  local command="$1" folder="$2" final="$3"
  shift 3
  for _ in 1 2 3; do
    [ -f "$folder/checkpoints/$final" ] && return 0
    local log
    if [ -f "$folder/config.json" ]; then
      log="$("$bin/$command" --resume "$folder" 2>&1)" || echo "    resume failed: $(grep -m1 Error <<<"$log")"
    else
      # Not even config.json: the folder (if any) holds nothing of the run and takes it afresh.
      log="$("$bin/$command" "$@" --output-dir "$folder" 2>&1)" || echo "    run failed: $(grep -m1 Error <<<"$log")"
    fi
  done
  [ -f "$folder/checkpoints/$final" ]
}

# Random seconds in [0, limit) with millisecond steps.
random_delay() { awk -v r="$RANDOM" -v l="$1" 'BEGIN { printf "%.3f", r / 32768 * l }'; }

echo "reliability: reference runs"
ref="$work/ref"
start=$(date +%s.%N)
"$bin/vqvae-train" "${tiny[@]}" --output-dir "$ref" >/dev/null
vqvae_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
start=$(date +%s.%N)
"$bin/extract-latents" --checkpoint "$ref" "${extract[@]}" >/dev/null
extract_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
start=$(date +%s.%N)
"$bin/gated-pixelcnn" --latents "$ref/latents" "${prior[@]}" >/dev/null
prior_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
printf "  vqvae-train %.2f s, extract-latents %.2f s, gated-pixelcnn %.2f s\n" \
  "$vqvae_seconds" "$extract_seconds" "$prior_seconds"

# Checks one run folder against the reference after finishing it; counts the outcome.
check_run() {
  local label="$1" command="$2" folder="$3" final="$4" reference="$5"
  shift 5
  if finish_run "$command" "$folder" "$final" "$@" && same_tensors "$folder/checkpoints/$final" "$reference"; then
    identical=$((identical + 1))
  else
    echo "  FAILED: $label ($folder) did not end with the reference weights"
    failures=$((failures + 1))
  fi
}

echo "reliability: kill -9 at $kills random points of each command"
for command in vqvae-train gated-pixelcnn extract-latents; do
  identical=0 early=0
  for i in $(seq "$kills"); do
    folder="$work/kill-$command-$i"
    case "$command" in
      vqvae-train)
        kill_after "$(random_delay "$vqvae_seconds")" "$bin/vqvae-train" "${tiny[@]}" --output-dir "$folder"
        [ -n "$(ls "$folder/checkpoints" 2>/dev/null)" ] || early=$((early + 1))
        check_run "kill $i" vqvae-train "$folder" vqvae.safetensors "$ref/checkpoints/vqvae.safetensors" "${tiny[@]}"
        ;;
      gated-pixelcnn)
        kill_after "$(random_delay "$prior_seconds")" "$bin/gated-pixelcnn" --latents "$ref/latents" "${prior[@]}" \
          --output-dir "$folder"
        [ -n "$(ls "$folder/checkpoints" 2>/dev/null)" ] || early=$((early + 1))
        check_run "kill $i" gated-pixelcnn "$folder" prior.safetensors "$ref/prior/checkpoints/prior.safetensors" \
          --latents "$ref/latents" "${prior[@]}"
        ;;
      extract-latents)
        cp -r "$ref/latents" "$folder"
        kill_after "$(random_delay "$extract_seconds")" "$bin/extract-latents" --checkpoint "$ref" "${extract[@]}" \
          --output-dir "$folder"
        # The old block or the new one, never a mix; then a second run completes it.
        if same_latents "$ref/latents" "$folder" && "$bin/extract-latents" --checkpoint "$ref" "${extract[@]}" \
          --output-dir "$folder" >/dev/null 2>&1 && same_latents "$ref/latents" "$folder"; then
          identical=$((identical + 1))
        else
          echo "  FAILED: kill $i left $folder different from the reference block"
          failures=$((failures + 1))
        fi
        ;;
    esac
    rm -rf "$folder"
  done
  if [ "$command" = extract-latents ]; then
    echo "  $command: $identical of $kills killed runs left a whole block and re-extracted byte-identical"
  else
    echo "  $command: $identical of $kills killed runs ($early before the first checkpoint) resumed bit-identical"
  fi
done

echo "reliability: a second Ctrl-C 1 ms after the first, at $kills random points of each training command"
for command in vqvae-train gated-pixelcnn; do
  identical=0 saved=0 finished=0 unstarted=0
  for i in $(seq "$kills"); do
    folder="$work/sigint-$command-$i"
    if [ "$command" = vqvae-train ]; then
      args=("${tiny[@]}") final=vqvae.safetensors reference="$ref/checkpoints/vqvae.safetensors"
      seconds="$vqvae_seconds"
    else
      args=(--latents "$ref/latents" "${prior[@]}") final=prior.safetensors
      reference="$ref/prior/checkpoints/prior.safetensors" seconds="$prior_seconds"
    fi
    "$bin/$command" "${args[@]}" --output-dir "$folder" >"$work/log" 2>&1 &
    pid=$!
    # Within the first two thirds of a run, so that most signals land while it trains.
    sleep "$(random_delay "$(awk -v s="$seconds" 'BEGIN { print s * 2 / 3 }')")"
    kill -INT "$pid" 2>/dev/null || true
    sleep 0.001
    kill -INT "$pid" 2>/dev/null || true
    status=0
    wait "$pid" || status=$?
    named="$(sed -n 's/.*checkpoint: \(.*safetensors\).*/\1/p' "$work/log" | head -1)"
    # Stopped with the checkpoint it names (130), finished before the signal (0), or stopped while it was
    # still loading (130 and no "interrupted": the signal's default action, before the loop's handler; nothing
    # was trained, and a folder it made starts again on --resume).
    if [ "$status" -eq 0 ]; then
      finished=$((finished + 1))
    elif [ "$status" -eq 130 ] && ! grep -q "interrupted" "$work/log"; then
      unstarted=$((unstarted + 1))
    elif [ "$status" -eq 130 ] && [ -n "$named" ] && [ -f "$named" ]; then
      saved=$((saved + 1))
    else
      echo "  FAILED: Ctrl-C $i: exit $status: $(tail -1 "$work/log")"
      failures=$((failures + 1))
    fi
    check_run "Ctrl-C $i" "$command" "$folder" "$final" "$reference" "${args[@]}"
    rm -rf "$folder"
  done
  echo "  $command: $saved of $kills stopped with their checkpoint on disk ($unstarted stopped while loading," \
    "$finished had finished); $identical of $kills resumed bit-identical"
done

echo "reliability: a full disk (tmpfs) at $sizes sizes, from the start to the end of each command"
if ! mkdir -p "$disk" || ! mount -t tmpfs -o size=4k tmpfs "$disk" 2>/dev/null; then
  echo "  skipped: mounting a tmpfs needs root"
else
  umount "$disk"
  for command in vqvae-train gated-pixelcnn extract-latents; do
    case "$command" in
      vqvae-train) total=$(du -sb "$ref" --exclude latents --exclude prior | cut -f1) ;;
      gated-pixelcnn) total=$(du -sb "$ref/prior" | cut -f1) ;;
      extract-latents) total=$(du -sb "$ref/latents" | cut -f1) ;;
    esac
    identical=0 clear=0
    for i in $(seq "$sizes"); do
      # 8 KiB (full before config.json is written), then steps up to just under what the whole output takes.
      size=$((i == 1 ? 8 : (total * (i - 1) / sizes + 4095) / 4096 * 4))
      mount -t tmpfs -o "size=${size}k" tmpfs "$disk"
      folder="$disk/out"
      status=0
      case "$command" in
        vqvae-train) "$bin/vqvae-train" "${tiny[@]}" --output-dir "$folder" >"$work/log" 2>&1 || status=$? ;;
        gated-pixelcnn)
          "$bin/gated-pixelcnn" --latents "$ref/latents" "${prior[@]}" --output-dir "$folder" >"$work/log" 2>&1 ||
            status=$?
          ;;
        extract-latents)
          "$bin/extract-latents" --checkpoint "$ref" "${extract[@]}" --output-dir "$folder" >"$work/log" 2>&1 ||
            status=$?
          ;;
      esac
      message="$(grep -m1 Error "$work/log" || grep -m1 warning "$work/log" || true)"
      if [ "$status" -ne 0 ] && grep -q "No space left on device" <<<"$message"; then clear=$((clear + 1)); fi
      if [ "$status" -ne 0 ] && ! grep -q "No space left on device" <<<"$message"; then
        echo "  FAILED: ${size} KiB: exit $status without a clear message: $(tail -1 "$work/log")"
        failures=$((failures + 1))
      fi
      echo "  $command on ${size} KiB: exit $status${message:+: ${message:0:150}}"
      mount -o remount,size=64m "$disk"
      case "$command" in
        vqvae-train)
          check_run "disk ${size} KiB" vqvae-train "$folder" vqvae.safetensors "$ref/checkpoints/vqvae.safetensors" \
            "${tiny[@]}"
          ;;
        gated-pixelcnn)
          check_run "disk ${size} KiB" gated-pixelcnn "$folder" prior.safetensors \
            "$ref/prior/checkpoints/prior.safetensors" --latents "$ref/latents" "${prior[@]}"
          ;;
        extract-latents)
          if [ "$status" -ne 0 ] && [ -e "$folder" ]; then
            echo "  FAILED: ${size} KiB: a failed extract-latents left $folder"
            failures=$((failures + 1))
          elif "$bin/extract-latents" --checkpoint "$ref" "${extract[@]}" --output-dir "$folder" >/dev/null 2>&1 &&
            same_latents "$ref/latents" "$folder"; then
            identical=$((identical + 1))
          fi
          ;;
      esac
      umount "$disk"
    done
    echo "  $command: $clear of $sizes sizes failed with 'No space left on device'; $identical of $sizes ended" \
      "identical to the reference after the disk was enlarged"
  done
fi

if [ "$failures" -gt 0 ]; then
  echo "reliability: $failures FAILED"
  exit 1
fi
echo "reliability: all runs ended with the reference weights"
