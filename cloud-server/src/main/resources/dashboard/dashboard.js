// splitllm dashboard: polls GET /v1/dashboard once a second with the bearer token from the URL
// fragment (#token=...) or the form, and redraws the cards, the sessions table and the timeline.
"use strict";
(function () {
  const POLL_MS = 1000;
  // Same colours as the legend's swatches in dashboard.css.
  const COLORS = { edge: "#2e9e6a", encode: "#8a5cc2", network: "#9aa5b8", server: "#f0a04b", cloud: "#3b6fd8", gap: "#d5d9e1" };
  let token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  let selected = null;
  let timer = null;

  const $ = (id) => document.getElementById(id);
  $("token").value = token;
  $("auth").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value.trim();
    start();
  });

  function bytes(n) {
    if (n >= 1 << 30) return (n / (1 << 30)).toFixed(2) + " GiB";
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(2) + " MiB";
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
    return n + " B";
  }
  const ms = (v) => (v === null || v === undefined ? "–" : v.toFixed(2));
  const pct = (p) => ms(p.p50) + " / " + ms(p.p90) + " / " + ms(p.p99);

  function setStatus(text, cls) {
    const s = $("status");
    s.textContent = text;
    s.className = "status " + (cls || "");
  }

  function card(label, value, fraction) {
    const d = document.createElement("div");
    d.className = "card";
    const b = document.createElement("b");
    b.textContent = value;
    const s = document.createElement("span");
    s.textContent = label;
    d.append(b, s);
    if (fraction !== undefined) {
      const bar = document.createElement("div");
      bar.className = "bar";
      const fill = document.createElement("i");
      fill.style.width = Math.min(100, Math.max(0, fraction * 100)).toFixed(1) + "%";
      bar.append(fill);
      d.append(bar);
    }
    return d;
  }

  function renderServer(sv) {
    const el = $("server");
    el.replaceChildren(
      card("sessions open (cap " + sv.maxSessions + ")", String(sv.sessions), sv.sessions / sv.maxSessions),
      card("KV reserved of " + bytes(sv.kvCapBytes), bytes(sv.kvReservedBytes), sv.kvReservedBytes / sv.kvCapBytes),
      card("bytes up (frames)", bytes(sv.bytesIn)),
      card("bytes down (messages)", bytes(sv.bytesOut)),
      card("tokens sent to edges", String(sv.tokensOut)),
      card("plain / OpenAI completions", String(sv.completions)),
      card("cloud ms per decode step p50 / p90 / p99", pct(sv.cloudMs)),
      card("token interval ms p50 / p90 / p99", pct(sv.tokenIntervalMs)),
      card("model", sv.layers + " blocks, d=" + sv.dim + ", " + sv.kernels));
  }

  function renderSessions(list, layers) {
    const body = $("sessions").tBodies[0];
    if (!list.some((s) => s.id === selected)) selected = list.length ? list[0].id : null;
    body.replaceChildren(...list.map((s) => {
      const tr = document.createElement("tr");
      tr.dataset.id = s.id;
      if (s.id === selected) tr.className = "selected";
      const cells = [s.id, "edge [0," + s.splitLayer + ") | cloud [" + s.splitLayer + "," + s.layers + ")", s.codec, s.cloudWeights,
        String(s.steps), bytes(s.bytesUp), bytes(s.bytesDown), bytes(s.kvReservedBytes), pct(s.cloudMs), pct(s.tokenIntervalMs),
        (s.idleMs / 1000).toFixed(1) + " s"];
      for (const c of cells) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.append(td);
      }
      tr.addEventListener("click", () => { selected = s.id; });
      return tr;
    }));
  }

  function renderTimeline(session) {
    const cv = $("timeline");
    const g = cv.getContext("2d");
    g.clearRect(0, 0, cv.width, cv.height);
    const timed = session ? session.timeline.filter((e) => e.edgeMs !== null && e.edgeMs !== undefined).length : 0;
    $("chart-title").textContent = session ? "session " + session.id + ", last " + session.timeline.length + " steps, "
      + timed + " with the edge's timings" : "(no session)";
    const steps = session ? session.timeline.filter((e) => e.phase === "decode") : [];
    const left = 48, bottom = cv.height - 24, top = 10, width = cv.width - left - 10;
    g.strokeStyle = "#c4cad6";
    g.fillStyle = "#6b7385";
    g.font = "11px system-ui, sans-serif";
    if (!steps.length) {
      g.fillText("no decode steps yet", left + 10, top + 20);
      return;
    }
    // Bottom to top: the cloud's parts, then the link and the edge's parts as the edge reported them, or the one
    // gap (edge + encode + network) the server sees when the edge sent no timing for the step.
    const parts = (e) => {
      const p = [["cloud", e.cloudMs], ["server", e.serverOtherMs]];
      if (e.edgeMs !== null && e.edgeMs !== undefined) p.push(["network", e.networkMs], ["encode", e.encodeMs], ["edge", e.edgeMs]);
      else p.push(["gap", e.edgeAndLinkMs || 0]);
      return p;
    };
    const total = (e) => parts(e).reduce((a, [, v]) => a + v, 0);
    const max = Math.max(1, ...steps.map(total));
    const scale = (bottom - top) / max;
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4, y = Math.round(bottom - v * scale) + 0.5;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + width, y); g.stroke();
      g.fillText(v.toFixed(1) + " ms", 2, y + 4);
    }
    const w = width / steps.length;
    steps.forEach((e, i) => {
      // Whole pixels, so every part keeps its exact colour; a nonzero part is at least one pixel high.
      const x = Math.floor(left + i * w), bw = Math.max(1, Math.floor(left + (i + 1) * w) - x - 1);
      let y = bottom;
      for (const [key, v] of parts(e)) {
        if (!(v > 0)) continue;
        const h = Math.max(1, Math.round(v * scale));
        g.fillStyle = COLORS[key];
        g.fillRect(x, y - h, bw, h);
        y -= h;
      }
    });
    g.fillStyle = "#6b7385";
    g.fillText("step " + steps[0].step, left, cv.height - 6);
    const lastLabel = "step " + steps[steps.length - 1].step;
    g.fillText(lastLabel, left + width - g.measureText(lastLabel).width, cv.height - 6);
  }

  async function poll() {
    try {
      const r = await fetch("/v1/dashboard", { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
      if (r.status === 401) {
        setStatus("token refused (401): put the server's token in the field", "bad");
        return;
      }
      if (!r.ok) {
        setStatus("server answered " + r.status, "bad");
        return;
      }
      const d = await r.json();
      renderServer(d.server);
      renderSessions(d.sessions, d.server.layers);
      renderTimeline(d.sessions.find((s) => s.id === selected));
      setStatus("live, updated " + new Date(d.time).toLocaleTimeString(), "ok");
    } catch (e) {
      setStatus("server unreachable (" + e.message + ")", "bad");
    }
  }

  function start() {
    if (timer) clearInterval(timer);
    if (!token) {
      setStatus("give the bearer token (or open /dashboard#token=...)", "bad");
      return;
    }
    poll();
    timer = setInterval(poll, POLL_MS);
  }
  start();
})();
