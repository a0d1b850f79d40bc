#!/usr/bin/env bash
# Issue 13: speculation across the cut over the userspace link emulator, bounded (2 prompts x
# 32 tokens at 50 ms RTT, about 1 min): every drafter must give exactly the plain split's tokens,
# and the best must beat one round trip per token. The full run (16 prompts x 128 tokens, with the
# exit head) is `./splitllm bench speculative` (docs/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(./splitllm bench speculative --rtt 50ms --uplink 10mbit --prompts 2 --tokens 32 --drafters ngram,model 2>/dev/null)
echo "$out"
last=$(echo "$out" | tail -n 1)
if ! [[ "$last" =~ ^best:\ drafter=([a-z-]+)\ tokens-per-round-trip=([0-9.]+)\ per-token-over-rtt=([0-9.]+)\ identical=(yes|no)$ ]]; then
    echo "speculative-check: unexpected last line: $last" >&2
    exit 1
fi
if echo "$out" | grep -q 'identical no'; then
    echo "speculative-check: a drafter changed the tokens" >&2
    exit 1
fi
awk -v t="${BASH_REMATCH[2]}" 'BEGIN { exit !(t > 1.5) }' || { echo "speculative-check: only ${BASH_REMATCH[2]} tokens per round trip" >&2; exit 1; }
echo "speculative-check: ok ($last)"
