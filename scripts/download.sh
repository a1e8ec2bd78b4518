#!/usr/bin/env bash
# Downloads a dataset the toolkit reads, verified, as torchvision's download=True does (see `vqvae-tools download
# --help`):
#   scripts/download.sh MNIST [DIR]            into DIR (default ./data)
#   scripts/download.sh FASHION_MNIST [DIR]    (default data/fashion-mnist, unless Debian's package is installed)
#   scripts/download.sh CIFAR10 [DIR]          the binary release, unpacked into DIR/cifar-10-batches-bin
#   ... --mirror URL                           a local mirror instead of the official ones (or $VQVAE_DATA_MIRROR)
# Builds vqvae-tools (release) first when needed. Each file is checked against its published SHA-256 and MD5 and
# renamed into place only then; a cut download is resumed by running the script again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:-}" in
  "" | -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
read -r -a flags <<<"${SWIFT_BUILD_FLAGS:-}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! swift build -c release --package-path "$root" "${flags[@]}" --product vqvae-tools >"$log" 2>&1; then
  grep -E "error" "$log" >&2 || tail -n 30 "$log" >&2
  echo "download: the build failed" >&2
  exit 1
fi
bin=$(swift build -c release --package-path "$root" "${flags[@]}" --show-bin-path)
"$bin/vqvae-tools" download "$@"
