#!/usr/bin/env bash
# Link emulation benchmark for splitllm: time to first token (TTFT) and per-token latency of
#   cloud-only (the server's POST /v1/completions), edge-only (./splitllm generate),
#   split fp16, split Q8_0 and split TS+TAB-Q(+zstd)
# across an emulated link of 1, 10 and 100 Mbit/s with 20, 50 and 100 ms round-trip time.
#
# How: a network namespace with a veth pair (host end 10.231.77.1/30, namespace end
# 10.231.77.2/30, nothing routed anywhere else), `tc netem` rate + delay (half the RTT on each
# end) on both ends, the cloud server (`./splitllm serve`) inside the namespace, the edge and
# the HTTP client on the host end. Everything created is removed on exit (trap), also on error
# or Ctrl-C.
#
# Needs: root (or CAP_NET_ADMIN), iproute2 (`ip`, `tc`), kernel support for network namespaces,
# veth and sch_netem, curl, and the runtime commands `./splitllm serve` and `./splitllm edge`.
# The script checks each and says exactly what is missing.
#
# Usage: sudo scripts/link-emulation.sh [-n TOKENS] [-s SPLIT] [-p PROMPT] [-o OUTDIR]
#   env RATES="1 10 100" (Mbit/s), RTTS="20 50 100" (ms), TABQ_CODEC (default below), PORT, REPEATS
set -euo pipefail

cd "$(dirname "$0")/.."
TOKENS=64
SPLIT=3
PROMPT="Once upon a time, there was a little fox who lived in a hollow log."
OUTDIR="link-results"
RATES="${RATES:-1 10 100}"
RTTS="${RTTS:-20 50 100}"
PORT="${PORT:-18088}"
REPEATS="${REPEATS:-1}"
# Default split codec: TS + TAB-Q at eps 1e-3 with zstd; tau = the calibrated 99.9th percentile
# at the split layer (docs/RESULTS.md lists it per split; pass TABQ_CODEC to use another).
TABQ_CODEC="${TABQ_CODEC:-tabq:eps=0.001,zstd}"

while getopts "n:s:p:o:h" opt; do
  case "$opt" in
    n) TOKENS="$OPTARG" ;;
    s) SPLIT="$OPTARG" ;;
    p) PROMPT="$OPTARG" ;;
    o) OUTDIR="$OPTARG" ;;
    h) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option; see -h" >&2; exit 2 ;;
  esac
done
[[ "$TOKENS" =~ ^[0-9]+$ && "$TOKENS" -ge 2 && "$TOKENS" -le 255 ]] || { echo "-n must be 2..255" >&2; exit 2; }
[[ "$SPLIT" =~ ^[0-9]+$ ]] || { echo "-s must be a layer number" >&2; exit 2; }

NS="splitllm-link-$$"
VH="slh$$"            # interface names must stay within 15 characters
VN="sln$$"
HOST_IP=10.231.77.1
NS_IP=10.231.77.2
TOKEN="linkbench-$$-$RANDOM"
SERVER_PID=""
CREATED_NS=0

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 ($2)"); }

cleanup() {
  set +e
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [[ "$CREATED_NS" == 1 ]]; then
    ip link del "$VH" 2>/dev/null        # deleting one end removes the pair
    ip netns del "$NS" 2>/dev/null
  fi
}
trap cleanup EXIT INT TERM

# ---- preflight: say what is missing, then stop --------------------------------------------
if [[ "$(id -u)" != 0 ]]; then
  missing+=("root: network namespaces, veth and tc need root or CAP_NET_ADMIN (run with sudo)")
fi
need ip "package iproute2"
need tc "package iproute2"
need curl "package curl"
[[ -x ./splitllm ]] || missing+=("./splitllm launcher at the repository root")
if [[ -x ./splitllm ]]; then
  ./splitllm serve --help >/dev/null 2>&1 || missing+=("'./splitllm serve' (the cloud server command is not in this build yet)")
  ./splitllm edge --help >/dev/null 2>&1 || missing+=("'./splitllm edge' (the edge client command is not in this build yet)")
fi
if (( ${#missing[@]} )); then
  echo "link-emulation: cannot run; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 3
fi

if ! ip netns add "$NS" 2>/tmp/link-emu-err.$$; then
  echo "link-emulation: cannot create a network namespace: $(cat /tmp/link-emu-err.$$)" >&2
  echo "  (needs CONFIG_NET_NS and permission to use it; inside a container, run it with --privileged or CAP_NET_ADMIN)" >&2
  rm -f /tmp/link-emu-err.$$; exit 3
fi
CREATED_NS=1
if ! ip link add "$VH" type veth peer name "$VN" 2>/tmp/link-emu-err.$$; then
  echo "link-emulation: cannot create a veth pair: $(cat /tmp/link-emu-err.$$) (kernel module veth?)" >&2
  rm -f /tmp/link-emu-err.$$; exit 3
fi
rm -f /tmp/link-emu-err.$$
ip link set "$VN" netns "$NS"
ip addr add "$HOST_IP/30" dev "$VH"
ip link set "$VH" up
ip netns exec "$NS" ip addr add "$NS_IP/30" dev "$VN"
ip netns exec "$NS" ip link set "$VN" up
ip netns exec "$NS" ip link set lo up
if ! tc qdisc add dev "$VH" root netem delay 1ms 2>/dev/null; then
  echo "link-emulation: 'tc qdisc ... netem' failed: the kernel lacks sch_netem (modprobe sch_netem)" >&2
  echo "  userspace fallback (no root, no netem): ./splitllm bench link --charts docs/eval" >&2
  exit 3
fi

shape() { # rate_mbit rtt_ms: the same shaping on both ends, half the RTT each way
  local rate="$1" half
  half=$(awk -v r="$2" 'BEGIN{printf "%.1f", r/2}')
  tc qdisc replace dev "$VH" root netem rate "${rate}mbit" delay "${half}ms"
  ip netns exec "$NS" tc qdisc replace dev "$VN" root netem rate "${rate}mbit" delay "${half}ms"
}

mkdir -p "$OUTDIR"
LOG="$OUTDIR/server.log"
ip netns exec "$NS" ./splitllm serve --host "$NS_IP" --port "$PORT" --token "$TOKEN" >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  if (exec 3<>"/dev/tcp/$NS_IP/$PORT") 2>/dev/null; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "link-emulation: server exited; see $LOG" >&2; exit 4; }
  sleep 0.5
done
(exec 3<>"/dev/tcp/$NS_IP/$PORT") 2>/dev/null || { echo "link-emulation: server not listening on $NS_IP:$PORT after 60 s; see $LOG" >&2; exit 4; }

now_ms() { date +%s%3N; }
# Pulls "ttft" and "per-token" figures (ms) from a command's output when it prints them
# (e.g. "ttft 123.4 ms", "per-token 45.6 ms"); prints "NA" otherwise.
figure() { grep -io "$1[^0-9]*[0-9.]\+" "$2" | tail -1 | grep -o "[0-9.]\+$" || echo NA; }

CSV="$OUTDIR/latency.csv"
echo "mode,codec,rate_mbit,rtt_ms,run,wall_ms,ttft_ms,per_token_ms" >"$CSV"

run_case() { # mode codec rate rtt run
  local mode="$1" codec="$2" rate="$3" rtt="$4" run="$5" out t0 t1 ttft per
  out="$OUTDIR/${mode}-${codec//[^A-Za-z0-9]/_}-${rate}m-${rtt}ms-${run}.log"
  t0=$(now_ms)
  case "$mode" in
    cloud-only)
      # streaming completion: time to the first byte ~ TTFT; the rest spread over the tokens
      curl -sS -o "$out.body" -w "ttft %{time_starttransfer}\ntotal %{time_total}\n" \
        -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
        -d "{\"prompt\": $(printf '%s' "$PROMPT" | sed 's/\\/\\\\/g; s/"/\\"/g; s/^/"/; s/$/"/'), \"max_tokens\": $TOKENS, \"stream\": true}" \
        "http://$NS_IP:$PORT/v1/completions" >"$out" 2>&1 || true
      t1=$(now_ms)
      ttft=$(awk '/^ttft/{printf "%.1f", $2*1000}' "$out")
      per=$(awk -v n="$TOKENS" '/^ttft/{f=$2} /^total/{printf "%.2f", ($2-f)*1000/(n-1)}' "$out")
      ;;
    edge-only)
      ./splitllm generate --prompt "$PROMPT" -n "$TOKENS" >"$out" 2>&1 || true
      t1=$(now_ms); ttft=$(figure ttft "$out"); per=$(figure "per-token" "$out")
      ;;
    split)
      ./splitllm edge --server "http://$NS_IP:$PORT" --token "$TOKEN" --prompt "$PROMPT" -n "$TOKENS" \
        --split "$SPLIT" --codec "$codec" >"$out" 2>&1 || true
      t1=$(now_ms); ttft=$(figure ttft "$out"); per=$(figure "per-token" "$out")
      ;;
  esac
  echo "$mode,$codec,$rate,$rtt,$run,$((t1 - t0)),${ttft:-NA},${per:-NA}" >>"$CSV"
}

# Edge-only does not touch the link: once.
for r in $(seq 1 "$REPEATS"); do run_case edge-only - 0 0 "$r"; done
for rate in $RATES; do
  for rtt in $RTTS; do
    shape "$rate" "$rtt"
    for r in $(seq 1 "$REPEATS"); do
      run_case cloud-only - "$rate" "$rtt" "$r"
      for codec in fp16 q8_0 "$TABQ_CODEC"; do
        run_case split "$codec" "$rate" "$rtt" "$r"
      done
    done
  done
done

{
  echo "| mode | codec | Mbit/s | RTT ms | wall ms | TTFT ms | per-token ms |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  tail -n +2 "$CSV" | awk -F, '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $6, $7, $8}'
} >"$OUTDIR/latency.md"
cat "$OUTDIR/latency.md"
echo "raw logs and $CSV in $OUTDIR/"
