// llama.cpp as an oracle for the tests (scripts/oracle-tests.sh): loads a GGUF file with the pinned
// node-llama-cpp CPU build and answers one JSON request (argv[2]) with one JSON reply on stdout.
//
// Request fields (all optional but "model"):
//   tokenize:  [{text, special}]            -> tokens: [[ids]]  (no BOS; parse_special = special)
//   logits:    {tokens, out, window}        -> writes float32 log-probabilities, one row of n_vocab per
//                                              position, to the file "out" (llama.cpp's softmax of its logits)
//   greedy:    {tokens, n, window}          -> greedy: [ids] (n tokens after the prompt)
//   templates: [{template, context}]        -> rendered: [{jinja, native}] with @huggingface/jinja and
//                                              llama.cpp's own Jinja engine (the one node-llama-cpp binds)
// window > 0 emulates sliding-window attention: tokens are evaluated one at a time and the KV cells of
// positions older than the window are removed first (llama.cpp applies no window to the llama
// architecture, which is what Mistral GGUFs use).
import fs from "node:fs";

const req = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const base = process.env.SPLITLLM_LLAMA_CPP + "/node_modules/";
const {getLlama} = await import(base + "node-llama-cpp/dist/index.js");
const reply = {};

if (req.templates) {
    const {Template} = await import(base + "@huggingface/jinja/dist/index.js");
    const llamaForJinja = await getLlama({gpu: false, build: "never", logLevel: "error"});
    reply.rendered = req.templates.map(({template, context}) => {
        const out = {};
        try { out.jinja = new Template(template).render(context); } catch (e) { out.jinjaError = String(e.message ?? e); }
        try { out.native = new llamaForJinja._bindings.AddonJinjaRenderer(template).render(context); } catch (e) { out.nativeError = String(e.message ?? e); }
        return out;
    });
}

if (req.model) {
    const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
    const model = await llama.loadModel({modelPath: req.model, gpuLayers: 0});
    if (req.tokenize) {
        reply.tokens = req.tokenize.map(({text, special}) => Array.from(model.tokenize(text, special === true)));
    }
    async function newSequence() {
        const context = await model.createContext({contextSize: req.contextSize ?? 512, batchSize: 512, threads: 2,
            sequences: 1, flashAttention: false,
            // F32 keys and values as the engine keeps them (llama.cpp defaults to F16, a 1e-3 relative error).
            experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"});
        return {context, sequence: context.getSequence()};
    }
    // Evaluates tokens; returns for each token the probability map of the next token when wanted[i].
    async function evaluate(sequence, tokens, wanted, window) {
        const gen = {generateNext: {probabilities: true, options: {temperature: 0}}};
        if (!window) {
            const out = await sequence.controlledEvaluate(tokens.map((t, i) => wanted[i] ? [t, gen] : t));
            return tokens.map((t, i) => wanted[i] ? out[i].next.probabilities : undefined);
        }
        const result = [];
        for (let i = 0; i < tokens.length; i++) {
            // Remove the cells of positions older than the window straight from llama.cpp's KV cache
            // (llama_memory_seq_rm; the others keep their positions). The public eraseContextTokenRanges
            // would instead re-evaluate the remaining tokens, which is not sliding-window attention.
            const pos = sequence.nextTokenIndex;
            if (pos > window - 1 && !sequence._context._ctx.removeTokenCellsFromSequence(sequence._sequenceId, 0, pos - (window - 1)))
                throw new Error("llama.cpp refused to remove KV cells below position " + (pos - (window - 1)));
            const out = await sequence.controlledEvaluate([wanted[i] ? [tokens[i], gen] : tokens[i]]);
            result.push(wanted[i] ? out[0].next.probabilities : undefined);
        }
        return result;
    }
    function argmax(probs) {
        let best = -1, bestP = -1;
        for (const [t, p] of probs) if (p > bestP || (p === bestP && t < best)) { best = t; bestP = p; }
        return best;
    }
    if (req.logits) {
        const {context, sequence} = await newSequence();
        const toks = req.logits.tokens;
        const probs = await evaluate(sequence, toks, toks.map(() => true), req.logits.window ?? 0);
        const n = req.logits.vocab;
        const buf = new Float32Array(toks.length * n);
        probs.forEach((m, i) => { for (const [t, p] of m) buf[i * n + t] = Math.log(p); });
        fs.writeFileSync(req.logits.out, Buffer.from(buf.buffer));
        await context.dispose();
    }
    if (req.greedy) {
        const {context, sequence} = await newSequence();
        const window = req.greedy.window ?? 0;
        const prompt = req.greedy.tokens;
        let probs = await evaluate(sequence, prompt, prompt.map((_, i) => i === prompt.length - 1), window);
        const out = [];
        for (let k = 0; k < req.greedy.n; k++) {
            const next = argmax(probs[probs.length - 1]);
            out.push(next);
            if (k + 1 < req.greedy.n) probs = await evaluate(sequence, [next], [true], window);
        }
        reply.greedy = out;
        await context.dispose();
    }
    await model.dispose();
}
process.stdout.write(JSON.stringify(reply) + "\n");
process.exit(0);
