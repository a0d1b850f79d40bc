// llama.cpp peer benchmark through the node-llama-cpp binding (see scripts/bench-peers.sh).
//
//   SPLITLLM_LLAMA_CPP=$(scripts/llama-cpp/install.sh) node scripts/llama-cpp/bench.mjs \
//       --model s.gguf --threads 2 [--tokens 256] [--prefill 128] [--runs 1] [--warmup 1] [--check]
//
// Prints one JSON line per timed run: {"decode_tps", "decode_native_tps", "prefill_tps", ...}.
//  - decode: greedy (argmax over the full vocabulary) decode of --tokens tokens from BOS, one
//    token per llama_decode, as llama2.c's run.c and `splitllm bench engine` do. decode_tps is the
//    wall-clock rate seen from JavaScript; decode_native_tps is llama.cpp's own eval time for the
//    same tokens (llama_perf_context, read through the binding's timing log), so the difference is
//    what the binding adds per token (JS <-> native hand-off, promise scheduling, sampling call).
//  - prefill: one batch of --prefill prompt tokens (BOS then fixed ids), logits for the last only,
//    timed wall-clock around the single llama_decode.
// --check: greedy-decodes 21 tokens after the prompt "Once upon a time" (ids 1 9038 2501 263 931)
// and compares them with the golden run.c tokens (fp32); with --check-prefix N only the first N
// must match (a quantized model drifts from the fp32 continuation); exit status 3 on a mismatch.
// --check-only: stop after the check.
const args = Object.fromEntries((() => {
    const a = process.argv.slice(2), out = [];
    for (let i = 0; i < a.length; i++) {
        if (!a[i].startsWith("--")) throw new Error("unexpected argument " + a[i]);
        const k = a[i].slice(2);
        if (k === "check" || k === "check-only") out.push([k, true]); else out.push([k, a[++i]]);
    }
    return out;
})());
if (!args.model) throw new Error("--model F.gguf is required");
const threads = Number(args.threads ?? 2), tokens = Number(args.tokens ?? 256), prefill = Number(args.prefill ?? 128);
const runs = Number(args.runs ?? 1), warmup = Number(args.warmup ?? 1);
const root = process.env.SPLITLLM_LLAMA_CPP;
if (!root) throw new Error("SPLITLLM_LLAMA_CPP must name the folder scripts/llama-cpp/install.sh printed");

let timingLog = "";
const {getLlama} = await import(root + "/node_modules/node-llama-cpp/dist/index.js");
const llama = await getLlama({gpu: false, build: "never", logLevel: "info",
    logger: (level, message) => { timingLog += message; }});
const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0});
const ctxSize = Math.max(tokens + 8, prefill + 8, 256);
const GOLDEN_PROMPT = [1, 9038, 2501, 263, 931];
const GOLDEN_21 = [29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889, 2296, 18012, 304, 1708, 5377, 297, 278,
    6575, 845, 457, 29889];

async function withContext(fn) {
    const ctx = await model.createContext({contextSize: ctxSize, threads, batchSize: Math.max(prefill, 512),
        performanceTracking: true, sequences: 1});
    try {
        return await fn(ctx, ctx.getSequence());
    } finally {
        await ctx.dispose();
    }
}

/** llama.cpp's own eval (decode) time in ms and token count from its timing print. */
async function nativeEval(ctx) {
    timingLog = "";
    await ctx.printTimings();
    const m = /(?<!prompt )eval time =\s*([\d.]+) ms \/\s*(\d+) runs/.exec(timingLog);
    return m ? {ms: Number(m[1]), runs: Number(m[2])} : null;
}

async function greedy(seq, prompt, n) {
    const out = [];
    for await (const t of seq.evaluate(prompt, {temperature: 0})) {
        out.push(t);
        if (out.length >= n) break;
    }
    return out;
}

async function decodeRun() {
    return await withContext(async (ctx, seq) => {
        const t0 = performance.now();
        const ids = await greedy(seq, [model.tokens.bos], tokens);
        const ms = performance.now() - t0;
        const nat = await nativeEval(ctx);
        return {ids, ms, nat};
    });
}

async function prefillRun() {
    const prompt = [model.tokens.bos];
    for (let i = 1; i < prefill; i++) prompt.push(GOLDEN_21[i % GOLDEN_21.length]);
    return await withContext(async (ctx, seq) => {
        const t0 = performance.now();
        await seq.evaluateWithoutGeneratingNewTokens(prompt);
        return performance.now() - t0;
    });
}

if (args.check) {
    const got = await withContext(async (ctx, seq) => await greedy(seq, GOLDEN_PROMPT, GOLDEN_21.length));
    let same = 0;
    while (same < got.length && same < GOLDEN_21.length && got[same] === GOLDEN_21[same]) same++;
    const need = Number(args["check-prefix"] ?? GOLDEN_21.length);
    const ok = same >= need;
    console.log(JSON.stringify({check: ok ? "ok" : "MISMATCH", model: args.model, golden_prefix: same, required: need, got}));
    if (!ok) process.exit(3);
    if (args["check-only"]) process.exit(0);
}
for (let w = 0; w < warmup; w++) {
    await decodeRun();
    await prefillRun();
}
for (let r = 0; r < runs; r++) {
    const d = await decodeRun();
    const p = await prefillRun();
    const decodeTps = tokens / (d.ms / 1000);
    // The first sampled token comes from the BOS decode; `tokens` decodes in all, the last one's
    // result unused by the break, so native eval time covers about the same count.
    const nativeTps = d.nat && d.nat.runs > 0 ? d.nat.runs / (d.nat.ms / 1000) : null;
    console.log(JSON.stringify({engine: "llama.cpp", model: args.model, threads, tokens, decode_tps: +decodeTps.toFixed(1),
        decode_native_tps: nativeTps && +nativeTps.toFixed(1),
        binding_ms_per_token: nativeTps && +((d.ms / tokens) - (1000 / nativeTps)).toFixed(4),
        prefill_tokens: prefill, prefill_tps: +(prefill / (p / 1000)).toFixed(1), first_ids: d.ids.slice(0, 8)}));
}
await model.dispose();
await llama.dispose();
