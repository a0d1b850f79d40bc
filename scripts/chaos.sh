#!/usr/bin/env bash
# The chaos test on its own: 3 `serve` replicas behind nginx (deploy/nginx/splitllm.conf) on loopback,
# 12 concurrent sessions (greedy/seeded, fp32/TAB-Q), kill -9 of one replica mid-generation, then a
# SIGTERM drain of another; every token stream must equal the unfaulted run. ChaosTest starts and
# stops every process by its handle (logs in deploy/target/chaos). Bounded: about 1 min after the build.
# Last line: failover: sessions=12 identical=12 replicas=3 killed=1 max-recovery-ms=X
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"

if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "chaos: nginx is missing; install it: apt-get install -y nginx-light" >&2; exit 1; }
    echo "chaos: installing nginx (apt-get install -y nginx-light)" >&2
    apt-get install -y -qq nginx-light >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq nginx-light >/dev/null; }
fi

echo "chaos: building the CLI and the deploy module (mvn -q -DskipTests -pl deploy -am install)" >&2
mvn -B -q -Dstyle.color=never -DskipTests -pl deploy -am install 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' >&2

LOG="$ROOT/deploy/target/chaos-test.log"
mkdir -p "$ROOT/deploy/target"
status=0
timeout 900 mvn -B -Dstyle.color=never -pl deploy test -Dtest=ChaosTest -Dsplitllm.chaos=true \
    -Dsurefire.failIfNoSpecifiedTests=false > "$LOG" 2>&1 || status=$?
sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -E '^(reference run|kill -9|drain|  (kill -9|drain) failover|.* differs|  \[)' || true
if [[ $status -ne 0 ]]; then
    sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -E 'ERROR|FAIL|Exception' | head -20 >&2
    echo "chaos: FAILED (exit $status); full log: $LOG" >&2
    exit "$status"
fi
line="$(sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -E '^failover: sessions=' | tail -1)"
[[ -n "$line" ]] || { echo "chaos: the test was skipped (no result line); see $LOG" >&2; exit 1; }
echo "$line"
