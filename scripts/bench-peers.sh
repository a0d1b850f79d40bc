#!/usr/bin/env bash
# Engine decode and prefill speed against llama.cpp, side by side on the same machine, on the
# GGUF files our own `convert` writes (F32, Q8_0, Q4_0, Q4_K, Q6_K of stories15M; in the k-quant
# files only ffn_down has rows of a multiple of 256, the rest is Q8_0), interleaved run by run,
# same thread counts. Also an external check of our GGUF writer: llama.cpp must load every file
# and reproduce the golden greedy tokens (all 21, the first 10 at Q4_0).
#
#   scripts/bench-peers.sh [--runs 3] [--threads "1 2"] [--tokens 256] [--prefill 128] [--out DIR]
#
# llama.cpp is the pinned node-llama-cpp build (scripts/llama-cpp/install.sh); the timing script
# is scripts/llama-cpp/bench.mjs. Its decode figure is llama.cpp's own eval time
# (llama_perf_context); the wall-clock rate seen from JavaScript is printed too, and the
# difference is what the binding adds per token. Ratios are splitllm / llama.cpp (native).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SPLITLLM="${SPLITLLM:-$ROOT/splitllm}"  # the launcher (override to measure another build)
RUNS=3 THREADS="1 2" TOKENS=256 PREFILL=128 OUT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --tokens) TOKENS="$2"; shift 2 ;;
        --prefill) PREFILL="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "bench-peers.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v node >/dev/null || { echo "bench-peers.sh: node is needed (Debian: apt-get install npm)" >&2; exit 1; }
SPLITLLM_LLAMA_CPP="$("$ROOT/scripts/llama-cpp/install.sh")"
export SPLITLLM_LLAMA_CPP
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
MODEL="${XDG_CACHE_HOME:-$HOME/.cache}/splitllm/stories15M/stories15M.bin"
[[ -f "$MODEL" ]] || "$SPLITLLM" fetch-model >&2
FORMATS="${FORMATS:-f32 q8_0 q4_0 q4_k q6_k}"  # FORMATS="q8_0" to measure fewer

echo "# GGUF files written by ./splitllm convert into $OUT" >&2
for f in $FORMATS; do
    [[ -f "$OUT/s-$f.gguf" ]] || "$SPLITLLM" convert --in "$MODEL" --out "$OUT/s-$f.gguf" --type "$f" >&2
done

echo "# check: llama.cpp loads our GGUF files and reproduces the golden greedy tokens" >&2
for f in $FORMATS; do
    prefix=21; [[ $f == q4_0 ]] && prefix=10
    node "$ROOT/scripts/llama-cpp/bench.mjs" --model "$OUT/s-$f.gguf" --threads 1 --check --check-prefix "$prefix" --check-only \
        | tee -a "$OUT/check.jsonl"
done

RES="$OUT/results.tsv"
: > "$RES"
max_threads=0
for n in $THREADS; do (( n > max_threads )) && max_threads=$n; done
for r in $(seq 1 "$RUNS"); do
    for f in $FORMATS; do
        for n in $THREADS; do
            j=$(node "$ROOT/scripts/llama-cpp/bench.mjs" --model "$OUT/s-$f.gguf" --threads "$n" --tokens "$TOKENS" \
                    --prefill "$PREFILL" --runs 1 --warmup 1 | tail -1)
            echo "$j" >> "$OUT/llama.jsonl"
            native=$(node -e 'const j=JSON.parse(process.argv[1]);console.log(j.decode_native_tps, j.decode_tps, j.prefill_tps)' "$j")
            printf 'llama.cpp\t%s\t%s\t%s\t%s\n' "$f" "$n" "$r" "$native" | tr ' ' '\t' >> "$RES"
        done
        # bench engine measures 1 thread and --threads; one JVM per format and run, after its warm-up runs.
        "$SPLITLLM" bench engine --model "$OUT/s-$f.gguf" --threads "$max_threads" --tokens "$TOKENS" --runs 1 \
            --prefill "$PREFILL" --no-bandwidth > "$OUT/engine-$f-$r.txt"
        for n in $THREADS; do
            d=$(sed -n "s/^threads=$n: runs.*median \([0-9.]*\) tok\/s$/\1/p" "$OUT/engine-$f-$r.txt")
            p=$(sed -n "s/^threads=$n: prefill.*median \([0-9.]*\) tok\/s$/\1/p" "$OUT/engine-$f-$r.txt")
            printf 'splitllm\t%s\t%s\t%s\t%s\t%s\t%s\n' "$f" "$n" "$r" "$d" "$d" "$p" >> "$RES"
        done
    done
    echo "# run $r of $RUNS done" >&2
done

# Table: medians over runs and per-run ratios (worst = smallest).
node - "$RES" <<'JS'
const fs = require("fs");
const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(l => l.split("\t"));
const med = a => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const key = (e, f, n) => rows.filter(r => r[0] === e && r[1] === f && r[2] === n);
const fmts = [...new Set(rows.map(r => r[1]))], threads = [...new Set(rows.map(r => r[2]))];
console.log("| format | threads | llama.cpp decode tok/s (native / via binding) | splitllm decode tok/s | ratio median (worst) | llama.cpp prefill tok/s | splitllm prefill tok/s | prefill ratio median (worst) |");
console.log("|---|---|---|---|---|---|---|---|");
for (const f of fmts) for (const n of threads) {
    const L = key("llama.cpp", f, n), S = key("splitllm", f, n);
    const runs = [...new Set(L.map(r => r[3]))].filter(r => S.some(s => s[3] === r));
    const dr = [], pr = [];
    for (const r of runs) {
        const l = L.find(x => x[3] === r), s = S.find(x => x[3] === r);
        dr.push(+s[4] / +l[4]); pr.push(+s[6] / +l[6]);
    }
    console.log(`| ${f} | ${n} | ${med(L.map(r => +r[4])).toFixed(1)} / ${med(L.map(r => +r[5])).toFixed(1)} | ${med(S.map(r => +r[4])).toFixed(1)} | `
        + `${med(dr).toFixed(2)} (${Math.min(...dr).toFixed(2)}) | ${med(L.map(r => +r[6])).toFixed(0)} | ${med(S.map(r => +r[6])).toFixed(0)} | `
        + `${med(pr).toFixed(2)} (${Math.min(...pr).toFixed(2)}) |`);
}
JS
echo "# raw figures: $OUT (results.tsv, llama.jsonl, engine-*.txt, check.jsonl)" >&2
