#!/usr/bin/env bash
# Builds the serve container image without a daemon or a base image (ImageBuilder: jlinked runtime,
# glibc found with ldd, passwd/group for uid 65532, the stories15M model, the CLI jars) into an
# OCI archive, then checks it with ImageTest (digests, config vs deploy/k8s/deployment.yaml, and,
# as root, a real run of the image under chroot with an edge session). About 35 s + 20 s after the build.
# Output: deploy/target/image/splitllm-VERSION.oci.tar. SPLITLLM_IMAGE_SKIP_BUILD=1 reuses the built modules.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"

# The image tag is the project version without -SNAPSHOT (the Deployment's image: splitllm:TAG).
VERSION="$(sed -n '/<parent>/,/<\/parent>/s/.*<version>\([^<]*\)<\/version>.*/\1/p' deploy/pom.xml | head -1)"
TAG="${VERSION%-SNAPSHOT}"
OUT="$ROOT/deploy/target/image/splitllm-$TAG.oci.tar"

if [[ "${SPLITLLM_IMAGE_SKIP_BUILD:-}" != 1 ]]; then
    echo "image: building the CLI and the deploy module (mvn -q -DskipTests -pl deploy -am install)" >&2
    mvn -B -q -Dstyle.color=never -DskipTests -pl deploy -am install 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' >&2
fi

# The model must be in the cache (./splitllm fetch-model; .ci/run fetches it first).
java -cp "deploy/target/classes:cli/target/lib/*" dev.splitllm.deploy.image.ImageBuilder \
    --cli cli/target --out "$OUT" --tag "$TAG"

# A second, independent reader when installed: skopeo parses the archive and checks every blob's digest.
if command -v skopeo >/dev/null; then
    SKDIR="$(mktemp -d)"
    skopeo copy -q "oci-archive:$OUT:$TAG" "dir:$SKDIR/image" >&2
    rm -rf "$SKDIR"
    echo "image: skopeo read the archive and verified its digests" >&2
fi

LOG="$ROOT/deploy/target/image-test.log"
status=0
timeout 600 mvn -B -Dstyle.color=never -pl deploy test -Dtest=ImageTest -Dsplitllm.image="$OUT" \
    -Dsurefire.failIfNoSpecifiedTests=false > "$LOG" 2>&1 || status=$?
sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -E '^(image: |\[(INFO|WARNING|ERROR)\] Tests run:)' || true
if [[ $status -ne 0 ]]; then
    sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -E 'ERROR|FAIL|Exception' | head -20 >&2
    echo "image: FAILED (exit $status); full log: $LOG" >&2
    exit "$status"
fi
echo "image: $OUT ($(( $(stat -c %s "$OUT") / 1000000 )) MB), tag splitllm:$TAG"
