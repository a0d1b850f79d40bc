#!/usr/bin/env bash
# Runs the tests that check the engine against llama.cpp (the pinned node-llama-cpp CPU build):
# tokenization, logits at 64 positions and 32-token greedy continuations for stories15M
# (F32/Q8_0/Q4_0 GGUF) and the synthetic llama2/llama3/qwen2/mistral fixtures, unsplit and split
# (tools: ArchitecturesOracleTest), and chat-template rendering against @huggingface/jinja and
# llama.cpp's Jinja engine (chat: ChatTemplateOracleTest). Without SPLITLLM_LLAMA_CPP these tests
# skip, so plain `mvn test` never needs node. About 8 minutes on 2 cores.
#
#   scripts/oracle-tests.sh            # installs the oracle if needed (npm), then runs the tests
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v node >/dev/null || { echo "oracle-tests.sh: node is needed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
SPLITLLM_LLAMA_CPP="$("$ROOT/scripts/llama-cpp/install.sh")"
export SPLITLLM_LLAMA_CPP
cd "$ROOT"
# Build what the two modules need, then exactly the oracle tests (bounded: 20 minutes).
mvn -B -q -Dstyle.color=never install -DskipTests -pl engine,tools,chat -am
# Quantized weights run on the engine's Q8 activation path, which rounds activations to 8-bit
# blocks before each quantized matmul as llama.cpp does, so top-1 must match at every position.
timeout 1200 mvn -B -Dstyle.color=never test -pl tools,chat \
    -Dtest='ArchitecturesOracleTest,ChatTemplateOracleTest' -Dsurefire.failIfNoSpecifiedTests=false \
    -DargLine="--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss8m -Dsplitllm.q8activations=true"
