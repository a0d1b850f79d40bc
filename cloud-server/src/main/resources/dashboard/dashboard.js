// splitllm dashboard: polls GET /v1/dashboard once a second with the bearer token from the URL
// fragment (#token=...) or the form, and redraws the cards, the sessions table and the timeline.
"use strict";
(function () {
  const POLL_MS = 1000;
  const COLORS = { edge: "#9aa5b8", server: "#f0a04b", cloud: "#3b6fd8" };
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
    $("chart-title").textContent = session ? "session " + session.id + ", last " + session.timeline.length + " steps" : "(no session)";
    const steps = session ? session.timeline.filter((e) => e.phase === "decode") : [];
    const left = 48, bottom = cv.height - 24, top = 10, width = cv.width - left - 10;
    g.strokeStyle = "#c4cad6";
    g.fillStyle = "#6b7385";
    g.font = "11px system-ui, sans-serif";
    if (!steps.length) {
      g.fillText("no decode steps yet", left + 10, top + 20);
      return;
    }
    const total = (e) => (e.edgeAndLinkMs || 0) + e.serverOtherMs + e.cloudMs;
    const max = Math.max(1, ...steps.map(total));
    const scale = (bottom - top) / max;
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4, y = bottom - v * scale;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + width, y); g.stroke();
      g.fillText(v.toFixed(1) + " ms", 2, y + 4);
    }
    const w = width / steps.length;
    steps.forEach((e, i) => {
      let y = bottom;
      for (const [key, v] of [["cloud", e.cloudMs], ["server", e.serverOtherMs], ["edge", e.edgeAndLinkMs || 0]]) {
        const h = v * scale;
        g.fillStyle = COLORS[key];
        g.fillRect(left + i * w, y - h, Math.max(1, w - 1), h);
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
