#!/usr/bin/env bash
# Builds a signed debug APK of the sample without the Android Gradle plugin:
#   javac --release 17 against android-all  ->  D8 (com.android.tools:r8, fetched by Maven)
#   ->  aapt package (manifest, against android-all's framework resources)  ->  zipalign
#   ->  apksigner with a generated debug keystore  ->  aapt dump badging + apksigner verify.
# The dex holds the app, the edge SDK (edge-agent, engine, quantization) and their runtime
# dependencies (OkHttp, okio, kotlin-stdlib, Jackson). zstd-jni is left out: it carries no Android
# natives, and only the optional zstd codec stage needs it.
# After dexing it lists the dex's classes (Debian's dexdump when present, else the type descriptors
# D8 writes into the dex string table) and fails if any class of dev.splitllm.eval, .tools or .fetch
# (host-only modules) got in.
# Usage: android-sample/build-apk.sh            (output: android-sample/target/apk/splitllm-sample-debug.apk)
#        android-sample/build-apk.sh --check-dex DIR   (only the class check, on DIR/classes*.dex)
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="$HERE/target/apk"
MIN_API=26
R8_VERSION=8.5.35
ANDROID_ALL_VERSION=14-robolectric-10818077
START=$(date +%s)

step() { echo "build-apk: $*"; }

# Lists the classes of DIR/classes*.dex and fails if a host-only package is among them.
check_dex() {
    local dir="$1" classes lister bad n
    compgen -G "$dir/classes*.dex" >/dev/null || { echo "build-apk: no classes*.dex in $dir" >&2; exit 1; }
    if command -v dexdump >/dev/null; then
        lister=dexdump
        classes="$(for d in "$dir"/classes*.dex; do dexdump "$d"; done \
            | sed -n "s/^ *Class descriptor *: *'L\(.*\);'\$/\1/p" | sort -u)"
    else
        # Every class D8 writes (and every type it references) is a descriptor Lpkg/Name; in the string table.
        lister="the dex string table (no dexdump: apt-get install dexdump)"
        classes="$(grep -a -o -h 'Ldev/splitllm/[A-Za-z0-9_/$]*;' "$dir"/classes*.dex | sed 's/^L//; s/;$//' | sort -u)"
    fi
    n="$(grep -c '^dev/splitllm/' <<<"$classes" || true)"
    if [[ "$n" -eq 0 ]]; then
        echo "build-apk: found no dev.splitllm class in $dir with $lister: cannot check it" >&2
        exit 1
    fi
    bad="$(grep -E '^dev/splitllm/(eval|tools|fetch)/' <<<"$classes" || true)"
    if [[ -n "$bad" ]]; then
        echo "build-apk: host-only classes (dev.splitllm.eval/tools/fetch) are in the dex:" >&2
        sed 's/^/  /' <<<"$bad" >&2
        exit 1
    fi
    step "dex classes listed with $lister: $n of dev.splitllm, none of dev.splitllm.eval/tools/fetch"
}

if [[ "${1:-}" == "--check-dex" ]]; then
    check_dex "${2:?usage: build-apk.sh --check-dex DIR}"
    exit 0
fi

# --- tools ---------------------------------------------------------------------------------
missing=()
for t in aapt zipalign apksigner; do command -v "$t" >/dev/null || missing+=("$t"); done
# dexdump lists the dex's classes for the host-only check; optional (the check falls back without it).
if ! command -v dexdump >/dev/null && [[ "$(id -u)" -eq 0 ]] && apt-cache policy dexdump 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    missing+=(dexdump)
fi
if ((${#missing[@]})); then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "build-apk: missing ${missing[*]}: run 'sudo apt-get install -y aapt zipalign apksigner'" >&2
        exit 1
    fi
    step "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
for t in java javac keytool mvn; do
    command -v "$t" >/dev/null || { echo "build-apk: $t is required" >&2; exit 1; }
done

rm -rf "$OUT/classes" "$OUT/dex" "$OUT"/*.apk
mkdir -p "$OUT/tools" "$OUT/classes" "$OUT/dex"

# --- the SDK jars, the runtime classpath, D8 and android-all, all through Maven ----------------
step "building the edge SDK jars (mvn package, tests skipped)"
mvn -q -B -f "$ROOT/pom.xml" -pl android-sample -am -DskipTests package \
    dependency:build-classpath -DincludeScope=runtime -Dmdep.outputFile=target/apk-runtime-classpath.txt
mvn -q -B -f "$ROOT/pom.xml" -N dependency:copy -Dartifact="com.android.tools:r8:$R8_VERSION" \
    -DoutputDirectory="$OUT/tools" -Dmdep.stripVersion=true
mvn -q -B -f "$ROOT/pom.xml" -N dependency:copy -Dartifact="org.robolectric:android-all:$ANDROID_ALL_VERSION" \
    -DoutputDirectory="$OUT/tools" -Dmdep.stripVersion=true
R8="$OUT/tools/r8.jar"
ANDROID_JAR="$OUT/tools/android-all.jar"

# Runtime jars minus the ones an APK must not carry (see the header).
LIBS=()
while IFS= read -r jar || [[ -n "$jar" ]]; do
    case "$(basename "$jar")" in
        zstd-jni-*|annotations-13.0.jar) ;;
        *) LIBS+=("$jar") ;;
    esac
done < <(tr ':' '\n' < "$HERE/target/apk-runtime-classpath.txt" | sed '/^$/d')
CP="$(IFS=:; echo "${LIBS[*]}")"
D8_CLASSPATH=()
for jar in "${LIBS[@]}"; do D8_CLASSPATH+=(--classpath "$jar"); done

# --- compile --------------------------------------------------------------------------------
step "javac --release 17 against android-all"
javac -nowarn --release 17 -encoding UTF-8 -cp "$ANDROID_JAR:$CP" -d "$OUT/classes" \
    $(find "$HERE/src/main/java" -name '*.java')

# --- dex ------------------------------------------------------------------------------------
# The libraries change rarely: their intermediate dex is cached, keyed by the jars' content.
LIB_KEY="$( (echo "$R8_VERSION $MIN_API"; sha256sum "${LIBS[@]}" | cut -d' ' -f1) | sha256sum | cut -c1-16)"
LIB_DEX="$OUT/libs-$LIB_KEY.zip"
LIB_GLOBALS="$OUT/libs-$LIB_KEY.globals.zip"
d8() { # runs D8, hiding its notes about newer Kotlin metadata (harmless when dexing); fails when D8 fails
    if ! java -cp "$R8" com.android.tools.r8.D8 "$@" > "$OUT/d8.log" 2>&1; then
        cat "$OUT/d8.log" >&2
        echo "build-apk: D8 failed" >&2
        exit 1
    fi
    grep -v -i 'kotlin.metadata\|kotlin metadata' "$OUT/d8.log" || true
}
if [[ ! -f "$LIB_DEX" || ! -f "$LIB_GLOBALS" ]]; then
    rm -f "$OUT"/libs-*.zip
    step "D8: dexing ${#LIBS[@]} library jars (min API $MIN_API; cached for later builds)"
    # Intermediate dex: the synthetics D8 shares globally (record desugaring) go to a globals file.
    d8 --release --intermediate --min-api "$MIN_API" --lib "$ANDROID_JAR" \
        --globals-output "$OUT/tmp-globals.zip" --output "$OUT/tmp-libs.zip" "${LIBS[@]}"
    mv "$OUT/tmp-libs.zip" "$LIB_DEX"
    mv "$OUT/tmp-globals.zip" "$LIB_GLOBALS"
fi
step "D8: dexing the app and merging"
d8 --release --min-api "$MIN_API" --lib "$ANDROID_JAR" "${D8_CLASSPATH[@]}" --globals "$LIB_GLOBALS" \
    --output "$OUT/dex" $(find "$OUT/classes" -name '*.class') "$LIB_DEX"
check_dex "$OUT/dex"

# --- package, align, sign ------------------------------------------------------------------
step "aapt package"
aapt package -f -M "$HERE/src/main/AndroidManifest.xml" -I "$ANDROID_JAR" -F "$OUT/unsigned.apk"
(cd "$OUT/dex" && aapt add -v ../unsigned.apk classes*.dex >/dev/null)
zipalign -f -p 4 "$OUT/unsigned.apk" "$OUT/aligned.apk"

KEYSTORE="$OUT/debug.keystore"
if [[ ! -f "$KEYSTORE" ]]; then
    step "generating a debug keystore"
    keytool -genkeypair -keystore "$KEYSTORE" -storepass android -keypass android -alias androiddebugkey \
        -keyalg RSA -keysize 2048 -validity 10000 -dname "CN=Android Debug,O=Android,C=US" >/dev/null 2>&1
fi
APK="$OUT/splitllm-sample-debug.apk"
apksigner sign --ks "$KEYSTORE" --ks-pass pass:android --key-pass pass:android --out "$APK" "$OUT/aligned.apk"
rm -f "$OUT/unsigned.apk" "$OUT/aligned.apk" "$APK.idsig"

# --- check ----------------------------------------------------------------------------------
apksigner verify --verbose "$APK" | grep -E '^Verifies|scheme'
aapt dump badging "$APK" | grep -E "^(package|sdkVersion|targetSdkVersion|uses-permission|launchable-activity)"
unzip -l "$APK" | grep -E 'classes[0-9]*\.dex|AndroidManifest'
step "$APK ($(du -k "$APK" | cut -f1) KiB) in $(( $(date +%s) - START )) s"
