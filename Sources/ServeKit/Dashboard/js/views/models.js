// Models: versions with their training summary, the model each stream uses, activate and roll
// back (admin tokens only; others see the server's 403).
import { api } from "../api.js";
import { lineSVG } from "../charts.js";
import { el, fmtTime, fmtNum, short } from "../format.js";

export function mount(root, _params, ctx) {
  let alive = true;
  const streamsBody = el("tbody", { id: "stream-models" });
  const list = el("div", { id: "models" }, el("p", { class: "muted" }, "Loading models…"));
  root.append(el("h1", {}, "Models"),
    el("section", { class: "panel" }, el("h2", {}, "Model per stream"),
      el("table", {}, el("thead", {}, el("tr", {}, ["stream", "model", "how", "sensors", ""].map((h) => el("th", {}, h)))), streamsBody)),
    list);

  let models = [], streams = [];
  async function load() {
    try {
      [{ models }, { streams }] = await Promise.all([api("/api/v1/models"), api("/api/v1/streams")]);
      if (alive) render();
    } catch (e) { if (alive) list.replaceChildren(el("p", { class: "msg error" }, e.explanation || e.message)); }
  }

  function render() {
    const ordered = [...models].sort((a, b) => (b.active - a.active) || (b.loadedAt - a.loadedAt));
    streamsBody.replaceChildren(...(streams.length ? streams.map((s) => {
      const msg = el("span", { class: "msg" });
      const m = models.find((x) => x.id === s.model_id);
      return el("tr", { dataset: { stream: s.id } },
        el("td", {}, el("a", { href: `#/stream/${encodeURIComponent(s.id)}` }, s.device_name || s.id), el("div", { class: "muted mono" }, s.id)),
        el("td", { class: "mono" }, s.model_id ? short(s.model_id) : "—"),
        el("td", {}, s.model_assigned ? "activated for this stream" : s.scored ? "global model" : el("span", { title: s.scoring }, "not scored: sensors differ")),
        el("td", {}, String(s.sensors.length)),
        el("td", {}, m && s.model_assigned ? el("button", { class: "btn secondary", onclick: () => call(`/api/v1/models/${m.id}/rollback?stream_id=${encodeURIComponent(s.id)}`, msg) }, "Roll back for this stream") : "", msg));
    }) : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No streams."))]));
    list.replaceChildren(...(ordered.length ? ordered.map(card) : [el("p", { class: "muted" }, "No model loaded: start the server with --model or upload one (POST /api/v1/models).")]));
  }

  function card(m) {
    const msg = el("div", { class: "msg" });
    const streamSelect = el("select", { class: "activate-stream" }, el("option", { value: "" }, "all streams (global)"),
      streams.filter((s) => sameSensors(s, m)).map((s) => el("option", { value: s.id }, `${s.device_name} (${s.id.slice(0, 8)})`)));
    const thresholds = m.sensorThresholds || [];
    const maxTh = Math.max(...thresholds, 1e-12);
    return el("section", { class: "panel model", dataset: { model: m.id, active: m.active ? "true" : "false" } },
      el("div", { class: "toolbar" }, el("h2", { style: "margin:0" }, el("span", { class: "mono" }, short(m.id))),
        m.active ? el("span", { class: "chip st-NORMAL" }, "active (global)") : "",
        el("span", { class: "muted" }, `${m.source} · created ${m.createdAt} · loaded ${fmtTime(m.loadedAt)}`)),
      el("div", { class: "grid2" },
        el("div", {},
          el("h3", {}, "Loss"),
          lineSVG([{ name: "training", values: m.trainingLoss || [], color: "#1f77b4" },
            { name: "validation", values: m.validationLoss || [], color: "#d62728" }], { log: true }),
          el("p", { class: "muted" }, `${(m.trainingLoss || []).length} epochs · final training ${fmtNum((m.trainingLoss || []).at(-1), 3)}, validation ${fmtNum((m.validationLoss || []).at(-1), 3)}`)),
        el("div", {},
          el("h3", {}, "Thresholds"),
          el("dl", { class: "kv" },
            el("dt", {}, "window"), el("dd", {}, fmtNum(m.windowThreshold, 4)),
            el("dt", {}, "architecture"), el("dd", {}, `window ${m.window}, hidden ${m.hidden}, ${m.sensors.length} sensors`),
            el("dt", {}, "reference cycle"), el("dd", {}, m.hasReference ? "yes" : "no"),
            el("dt", {}, "trainer"), el("dd", {}, m.trainerVersion),
            el("dt", {}, "data SHA-256"), el("dd", { class: "mono", title: m.dataSHA256 }, (m.dataSHA256 || "").slice(0, 16) + "…")),
          el("div", { class: "bars" }, m.sensors.map((s, j) => el("div", { class: "bar" }, el("span", {}, s),
            el("div", { class: "track" }, el("div", { class: "fill", style: `width:${((thresholds[j] || 0) / maxTh * 100).toFixed(1)}%` })),
            el("span", { class: "mono" }, fmtNum(thresholds[j], 3))))))),
      el("div", { class: "inline-form" },
        el("span", { class: "muted" }, "Activate for"), streamSelect,
        el("button", { class: "btn", dataset: { action: "activate" }, onclick: () => call(`/api/v1/models/${m.id}/activate${streamSelect.value ? "?stream_id=" + encodeURIComponent(streamSelect.value) : ""}`, msg) }, "Activate"),
        m.active ? el("button", { class: "btn secondary", dataset: { action: "rollback" }, onclick: () => call(`/api/v1/models/${m.id}/rollback`, msg) }, "Roll back to the previous model") : ""),
      msg);
  }

  function sameSensors(s, m) {
    const a = s.sensors.map((x) => x.name).sort().join("\u0000"), b = [...m.sensors].sort().join("\u0000");
    return a === b;
  }

  async function call(path, msg) {
    msg.className = "msg"; msg.textContent = "Working…";
    try {
      const r = await api(path, { method: "POST" });
      msg.className = "msg ok";
      msg.textContent = `${r.status}: model ${short(r.model_id)}${r.stream_id ? " for " + r.stream_id : " globally"}.`;
      setTimeout(load, 800);
    } catch (e) {
      msg.className = "msg error";
      msg.textContent = e.status === 403 ? "Only an admin token may activate or roll back models (403). Sign in with an admin token to do this." : (e.explanation || e.message);
    }
  }

  load();
  return () => { alive = false; };
}
