#!/usr/bin/env bash
# The official `openai` npm client against a real splitllm server on loopback: installs node/npm
# (Debian) and the client version pinned in scripts/openai-client/package.json into the user cache
# when missing, then runs OpenAiApiTest and OpenAiNodeClientTest with the tools required (a missing
# tool fails instead of skipping). Exits non-zero on any failure. About 2 min warm.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/splitllm/npm-openai"
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then SUDO=(sudo); fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "openai-client-test: installing nodejs and npm"
    "${SUDO[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends nodejs npm
fi

pinned="$(node -p "require('$ROOT/scripts/openai-client/package.json').dependencies.openai")"
installed="$(node -p "try { require('$CACHE/node_modules/openai/package.json').version } catch (e) { '' }")"
if [[ "$installed" != "$pinned" ]]; then
    echo "openai-client-test: installing openai@$pinned into $CACHE"
    mkdir -p "$CACHE"
    cp "$ROOT/scripts/openai-client/package.json" "$CACHE/package.json"
    (cd "$CACHE" && timeout 300 npm install --no-audit --no-fund --no-package-lock --omit=dev)
fi
echo "openai-client-test: node $(node --version), openai $(node -p "require('$CACHE/node_modules/openai/package.json').version")"

cd "$ROOT"
timeout 900 mvn -B -Dstyle.color=never test -pl cloud-server -am -Dtest='OpenAiApiTest,OpenAiNodeClientTest' \
    -Dsurefire.failIfNoSpecifiedTests=false -Dsplitllm.requireTools=true
