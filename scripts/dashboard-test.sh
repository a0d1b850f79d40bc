#!/usr/bin/env bash
# The live dashboard in a real headless Chromium: installs Debian's chromium when missing, then runs
# DashboardTest and DashboardBrowserTest with the tools required (a missing browser fails instead of
# skipping): the page loads with no console error while a split session runs, shows its row and
# timeline, and leaves a screenshot in cloud-server/target/dashboard.png. About 2 min warm.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then SUDO=(sudo); fi

if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    echo "dashboard-test: installing chromium"
    "${SUDO[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium
fi
echo "dashboard-test: $( (chromium --version || chromium-browser --version) 2>/dev/null | head -1)"

cd "$ROOT"
timeout 900 mvn -B -Dstyle.color=never test -pl cloud-server -am -Dtest='DashboardTest,DashboardBrowserTest' \
    -Dsurefire.failIfNoSpecifiedTests=false -Dsplitllm.requireTools=true
echo "dashboard-test: screenshot -> $ROOT/cloud-server/target/dashboard.png"
