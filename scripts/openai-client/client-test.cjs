// The official `openai` npm client against a running splitllm server's OpenAI-compatible routes:
// models, completions and chat completions, streaming and not, stop strings, and its errors.
// Env: SPLITLLM_BASE_URL (http://127.0.0.1:PORT), SPLITLLM_TOKEN. Exits non-zero on any failure.
"use strict";
const OpenAI = require("openai");
const assert = require("node:assert/strict");

const base = process.env.SPLITLLM_BASE_URL;
const token = process.env.SPLITLLM_TOKEN;
if (!base || !token) {
  console.error("client-test: set SPLITLLM_BASE_URL and SPLITLLM_TOKEN");
  process.exit(2);
}
const client = new OpenAI({ baseURL: base + "/v1", apiKey: token, maxRetries: 0, timeout: 120000 });
const prompt = "Once upon a time";
let checks = 0;
const ok = (what) => { checks++; console.log("ok - " + what); };

async function collect(stream, pick) {
  let text = "", chunks = 0, finish = null, usage = null;
  for await (const c of stream) {
    if (c.usage) usage = c.usage;
    if (!c.choices.length) continue;
    chunks++;
    text += pick(c.choices[0]) || "";
    if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  }
  return { text, chunks, finish, usage };
}

(async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ["splitllm"]);
  ok("models.list: " + models.data[0].id);

  const c = await client.completions.create({ model: "splitllm", prompt, max_tokens: 24, temperature: 0, seed: 7 });
  const text = c.choices[0].text;
  assert.ok(text.length > 10, "completion text: " + JSON.stringify(text));
  assert.equal(c.choices[0].finish_reason, "length");
  assert.equal(c.usage.completion_tokens, 24);
  assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + 24);
  ok("completions.create: " + JSON.stringify(prompt + text));

  const s = await collect(await client.completions.create({ model: "splitllm", prompt, max_tokens: 24, temperature: 0, stream: true }),
    (ch) => ch.text);
  assert.equal(s.text, text, "streamed completion = non-streamed (greedy)");
  assert.ok(s.chunks > 5, "streamed in pieces: " + s.chunks);
  assert.equal(s.finish, "length");
  ok("completions.create stream: " + s.chunks + " chunks, same text");

  const messages = [{ role: "user", content: prompt }];
  const chat = await client.chat.completions.create({ model: "splitllm", messages, max_tokens: 24, temperature: 0 });
  assert.equal(chat.choices[0].message.role, "assistant");
  assert.equal(chat.choices[0].message.content, text, "chat on the concatenated-content prompt = completion");
  assert.equal(chat.usage.completion_tokens, 24);
  ok("chat.completions.create: same text as the completion");

  const cs = await collect(await client.chat.completions.create({ model: "splitllm", messages, max_tokens: 24, temperature: 0,
    stream: true, stream_options: { include_usage: true } }), (ch) => ch.delta && ch.delta.content);
  assert.equal(cs.text, text);
  assert.equal(cs.finish, "length");
  assert.ok(cs.usage && cs.usage.completion_tokens === 24, "usage chunk: " + JSON.stringify(cs.usage));
  ok("chat.completions.create stream: " + cs.chunks + " chunks, usage " + JSON.stringify(cs.usage));

  const firstWord = text.trim().split(/\s+/)[1];
  const st = await client.completions.create({ model: "splitllm", prompt, max_tokens: 24, temperature: 0, stop: [firstWord] });
  assert.equal(st.choices[0].finish_reason, "stop");
  assert.equal(st.choices[0].text, text.slice(0, text.indexOf(firstWord)));
  ok("stop " + JSON.stringify(firstWord) + ": " + JSON.stringify(st.choices[0].text));

  const a = await client.completions.create({ model: "splitllm", prompt, max_tokens: 16, temperature: 0.9, top_p: 0.9, seed: 42 });
  const b = await client.completions.create({ model: "splitllm", prompt, max_tokens: 16, temperature: 0.9, top_p: 0.9, seed: 42 });
  assert.equal(a.choices[0].text, b.choices[0].text, "same seed, same sample");
  ok("seed 42 repeats: " + JSON.stringify(a.choices[0].text));

  const bad = new OpenAI({ baseURL: base + "/v1", apiKey: "not-a-token", maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  ok("wrong token: AuthenticationError 401");
  await assert.rejects(client.completions.create({ model: "gpt-4", prompt }), (e) => e instanceof OpenAI.NotFoundError && /not served/.test(e.message));
  ok("unknown model: NotFoundError 404");
  await assert.rejects(client.chat.completions.create({ model: "splitllm", messages, temperature: 5 }),
    (e) => e instanceof OpenAI.BadRequestError && /temperature/.test(e.message));
  ok("temperature 5: BadRequestError 400");

  console.log("openai " + require("openai/version").VERSION + " client: all " + checks + " checks passed");
})().catch((e) => {
  console.error("client-test FAILED:", e && e.stack ? e.stack : e);
  process.exit(1);
});
