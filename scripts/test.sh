#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs the system packages when one is missing
# (scripts/setup.sh), checks the code style, then builds and runs every test in release mode (numeric tests are
# 10-100x slower in debug).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "test: swift format lint"
swift format lint --strict --recursive Sources Tests

echo "test: swift test (release)"
swift test -c release -Xswiftc -enable-testing "$@"
