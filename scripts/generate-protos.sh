#!/usr/bin/env bash
# Regenerates Sources/DataFiles/TensorBoard/tensorboard.pb.swift from tensorboard.proto beside it.
#   scripts/generate-protos.sh
# Needs protoc (Debian's protobuf-compiler, installed here if missing) and swift-protobuf's protoc-gen-swift at the
# version Package.swift resolves, built into .build-protoc/ on the first run (about a minute on 2 cores). The
# generated file is committed, so that building the toolkit needs neither: run this only after editing the .proto.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
  echo "generate-protos: installing protobuf-compiler"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q protobuf-compiler >/dev/null
fi
version=$(swift package show-dependencies --format json 2>/dev/null |
  python3 -c 'import json, sys
def walk(d):
    for x in d["dependencies"]:
        if x["identity"] == "swift-protobuf": print(x["version"]); sys.exit()
        walk(x)
walk(json.load(sys.stdin))')
source=.build-protoc/swift-protobuf-$version
if [ ! -x "$source/.build/debug/protoc-gen-swift" ]; then
  echo "generate-protos: building protoc-gen-swift $version"
  rm -rf "$source"
  git clone -q --branch "$version" --depth 1 https://github.com/apple/swift-protobuf "$source" 2>/dev/null ||
    git clone -q --branch "$version" /opt/swift-packages/apple/swift-protobuf.git "$source"
  swift build --package-path "$source" --product protoc-gen-swift >/dev/null
fi
folder=Sources/DataFiles/TensorBoard
protoc --plugin=protoc-gen-swift="$source/.build/debug/protoc-gen-swift" --swift_opt=Visibility=Internal \
  --proto_path="$folder" --swift_out="$folder" "$folder/tensorboard.proto"
echo "generate-protos: wrote $folder/tensorboard.pb.swift (protoc $(protoc --version | cut -d' ' -f2), swift-protobuf $version)"
