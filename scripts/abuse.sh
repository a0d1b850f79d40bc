#!/usr/bin/env bash
# The abuse suite: a real splitllm cloud server on 127.0.0.1 with honest sessions stepping
# through real frames, and one attack at a time beside them (unauthenticated upgrades, a
# deflate bomb, bad-frame floods, a slow reader, 200 sockets on one session, allocation bombs,
# replays, a session-slot grab). Bounded: each phase runs ABUSE_PHASE_SECONDS (default 4), every
# attack loop has a count cap, and the whole run is killed after 15 minutes.
# Last line: abuse: attacks=N held=N honest-p99-ratio=X heap-growth-mb=Y. Exit 1 if any attack is not held.
# Needs JDK 17 and Maven (what .ci/run installs); the model is fetched once into the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in java mvn; do
    command -v "$tool" >/dev/null || { echo "abuse.sh: $tool is required (JDK 17, Maven 3.8)" >&2; exit 2; }
done
MVN="mvn -B -q -Dstyle.color=never"
$MVN install -DskipTests -pl cloud-server -am >&2
$MVN test-compile -pl cloud-server >&2
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
$MVN dependency:build-classpath -pl cloud-server -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >&2
CP="cloud-server/target/test-classes:cloud-server/target/classes:$(cat "$cp_file")"
exec timeout 900 java -Xmx1g --add-modules jdk.incubator.vector -Dabuse.phaseSeconds="${ABUSE_PHASE_SECONDS:-4}" \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" dev.splitllm.cloud.AbuseSuite
