// Stream, live: decimated multi-sensor signal, scores against thresholds, cycle status, sensor
// statistics, alerts, and the stream's cycles.
import { api } from "../api.js";
import { LiveFeed } from "../live.js";
import { drawSignalLanes } from "../charts.js";
import { el, stateChip, cycleChip, severityChip, fmtClock, fmtTime, fmtDuration, fmtNum, parseTime, healthColor, short } from "../format.js";

const SPANS = [5, 10, 30];
const KEEP = 32; // seconds of points held

export function mount(root, [id], ctx) {
  let alive = true;
  let span = Number(sessionStorage.getItem("vertac.span")) || 10;
  let summary = null, thresholds = {}, model = null;
  let sensors = [];            // from the signal messages (stream order)
  const points = [];           // {t, n, min[], max[], mean[]}
  let scores = {}, scoreTime = null;
  let dirty = false, frames = 0, lastDraw = 0;
  let currentCycle = null;

  const title = el("h1", {}, `Stream ${id}`);
  const spanButtons = el("div", { class: "seg", id: "span" }, SPANS.map((s) =>
    el("button", { type: "button", class: s === span ? "on" : "", dataset: { span: s }, onclick: () => setSpan(s) }, `${s} s`)));
  const status = el("dl", { class: "kv", id: "cycle-status" });
  const maintenanceMsg = el("span", { class: "msg", id: "maintenance-message" });
  const maintenanceButton = el("button", { class: "btn secondary", id: "maintenance", hidden: true, onclick: toggleMaintenance }, "");
  const canvas = el("canvas", { id: "signal", "aria-label": "live signal" });
  const waiting = el("p", { class: "muted", id: "signal-waiting" }, "Waiting for samples…");
  const scoreBars = el("div", { class: "bars", id: "scores" }, el("p", { class: "muted" }, "No window scored yet."));
  const table = el("table", { id: "sensor-table" });
  const ticker = el("ul", { class: "ticker", id: "alerts" });
  const cyclesBody = el("tbody");
  root.dataset.frames = "0";

  root.append(
    el("div", { class: "toolbar" }, el("a", { href: "#/" }, "← Fleet"), title),
    el("div", { class: "grid2" },
      el("section", { class: "panel" },
        el("div", { class: "toolbar" }, el("h2", { style: "margin:0" }, "Signals"), el("span", { class: "muted" }, "span"), spanButtons,
          el("span", { class: "muted", id: "signal-info" })),
        waiting, canvas),
      el("div", {},
        el("section", { class: "panel" }, el("h2", {}, "Cycle"), status,
          el("div", { class: "inline-form" }, maintenanceButton, maintenanceMsg)),
        el("section", { class: "panel" }, el("h2", {}, "Score against threshold"),
          el("p", { class: "muted", style: "margin-top:0" }, "Latest window, per sensor: reconstruction error or DTW deviation over its threshold, whichever is larger; the mark is 1× (the threshold), the bar ends at 3×."), scoreBars),
        el("section", { class: "panel" }, el("h2", {}, "Alerts"), ticker))),
    el("section", { class: "panel" }, el("h2", {}, "Sensors"),
      el("p", { class: "muted", style: "margin-top:0" }, "Over the shown span: min, max and average of the samples; std, RMS, peak-to-peak and slope of the bucket means."),
      table),
    el("section", { class: "panel" }, el("h2", {}, "Cycles"),
      el("table", { id: "cycles" }, el("thead", {}, el("tr", {}, ["#", "state", "started", "duration", "rows", "health", "severity", "label", ""].map((h) => el("th", {}, h)))), cyclesBody)));

  function setSpan(s) {
    span = s;
    sessionStorage.setItem("vertac.span", String(s));
    spanButtons.querySelectorAll("button").forEach((b) => b.classList.toggle("on", Number(b.dataset.span) === s));
    dirty = true;
  }

  // Live feed: decimated signal of this stream, scores, state changes and events.
  const feed = new LiveFeed({ subscribe: [id], events: false, samples: false, signal: true }, onMessage, ctx.liveStatus);

  function onMessage(m) {
    if (m.stream_id !== id) return;
    const d = m.data || {};
    if (m.type === "signal") {
      if (d.sensors.join("\u0000") !== sensors.join("\u0000")) { sensors = d.sensors; points.length = 0; buildTable(); }
      for (const p of d.points) {
        const last = points[points.length - 1];
        if (last && last.t === p.t) points[points.length - 1] = p;
        else if (!last || p.t > last.t) points.push(p);
      }
      const cut = points.length ? points[points.length - 1].t - KEEP : 0;
      let drop = 0;
      while (drop < points.length && points[drop].t < cut) drop++;
      if (drop) points.splice(0, drop);
      dirty = true;
    } else if (m.type === "analysis_result" && d.sensor_scores) {
      scores = d.sensor_scores; scoreTime = d.time; renderScores();
    } else if (m.type === "analysis_result" && d.health_score !== undefined) {
      pushAlert(`Cycle report: health ${fmtNum(d.health_score, 3)}, ${d.severity}${d.top_sensors && d.top_sensors.length ? ", top " + d.top_sensors.join(", ") : ""}`, d.severity);
      loadCycles();
    } else if (m.type === "state_change") {
      if (d.kind === "sensor") {
        pushAlert(`${d.sensor}: ${d.from} → ${d.to} (${d.reason})`, d.to);
        if (summary) { const s = summary.sensors.find((x) => x.name === d.sensor); if (s) s.state = d.to; }
      } else {
        pushAlert(`cycle ${d.from} → ${d.to}${d.reason ? " (" + d.reason + ")" : ""}`, d.to);
        loadSummary(); loadCycles();
      }
    } else if (m.type === "maintenance_event") {
      pushAlert(`event ${d.severity} on ${d.sensor}: ${d.reason}`, d.severity);
    }
  }

  function pushAlert(text, level) {
    const cls = { CRITICAL: "sev-CRITICAL", HIGH: "sev-HIGH", WARNING: "sev-warning", MEDIUM: "sev-MEDIUM", critical: "sev-critical", warning: "sev-warning" }[level];
    ticker.prepend(el("li", {}, el("time", {}, fmtClock(Date.now() / 1000)), cls ? el("span", { class: `chip ${cls}` }, level) : "", " ", text));
    while (ticker.children.length > 50) ticker.lastChild.remove();
  }

  // Sensor table: rows built once per sensor list, cells updated in place.
  let cells = {};
  function buildTable() {
    const head = el("thead", {}, el("tr", {}, ["sensor", "state", "current", "min", "max", "avg", "std", "RMS", "peak-to-peak", "slope /s", "score (× threshold)"]
      .map((h, k) => el("th", { class: k >= 2 ? "num" : "" }, h))));
    cells = {};
    const body = el("tbody", {}, sensors.map((name) => {
      const c = {};
      const tr = el("tr", { dataset: { sensor: name } }, el("td", {}, name),
        c.state = el("td", {}),
        ...["current", "min", "max", "avg", "std", "rms", "p2p", "slope", "ratio"].map((k) => (c[k] = el("td", { class: "num" }, "—"))));
      cells[name] = c;
      return tr;
    }));
    table.replaceChildren(head, body);
  }

  function stats(j, t0) {
    let lo = Infinity, hi = -Infinity, sum = 0, n = 0, m1 = 0, m2 = 0, k = 0, st = 0, stt = 0, sty = 0;
    let current = null;
    for (const p of points) {
      if (p.t < t0) continue;
      lo = Math.min(lo, p.min[j]); hi = Math.max(hi, p.max[j]);
      sum += p.mean[j] * p.n; n += p.n;
      const v = p.mean[j], t = p.t - t0;  // seconds into the span: epoch seconds squared lose the slope
      m1 += v; m2 += v * v; k += 1; st += t; stt += t * t; sty += t * v;
      current = v;
    }
    if (!n) return null;
    const mean = m1 / k;
    const std = Math.sqrt(Math.max(0, m2 / k - mean * mean));
    const denom = k * stt - st * st;
    return { current, min: lo, max: hi, avg: sum / n, std, rms: Math.sqrt(m2 / k), p2p: hi - lo,
      slope: k > 1 && Math.abs(denom) > 1e-12 ? (k * sty - st * m1) / denom : NaN };
  }

  function renderTable() {
    if (!points.length) return;
    const t0 = points[points.length - 1].t - span;
    sensors.forEach((name, j) => {
      const c = cells[name];
      if (!c) return;
      const s = stats(j, t0);
      const state = summary && summary.sensors.find((x) => x.name === name);
      const stText = state ? state.state : "—";
      if (c.state.dataset.state !== stText) { c.state.replaceChildren(state ? stateChip(state.state) : "—"); c.state.dataset.state = stText; }
      if (s) for (const k of ["current", "min", "max", "avg", "std", "rms", "p2p", "slope"]) c[k].textContent = fmtNum(s[k], 4);
      c.ratio.textContent = scores[name] !== undefined ? `${scores[name].toFixed(2)}×` : "—";
    });
  }

  function renderScores() {
    const names = Object.keys(scores);
    if (!names.length) return;
    const order = sensors.length ? sensors.filter((s) => s in scores) : names;
    scoreBars.replaceChildren(...order.map((name) => {
      // The server sends each sensor's score as a ratio to its threshold: the larger of the
      // reconstruction error over its threshold and the DTW deviation over its threshold.
      const ratio = scores[name];
      const th = thresholds[name];
      const width = Math.min(1, ratio / 3);
      const color = ratio <= 1 ? "#2e8540" : ratio <= 3 ? "#c77c00" : "#c62828";
      return el("div", { class: "bar", dataset: { sensor: name } }, el("span", {}, name),
        el("div", { class: "track" }, el("div", { class: "fill", style: `width:${(width * 100).toFixed(1)}%;background:${color}` }),
          el("div", { class: "mark", style: "left:33.3%" })),
        el("span", { class: "mono", title: `${ratio.toFixed(3)} × threshold` + (th ? ` (reconstruction-error threshold ${fmtNum(th, 3)})` : "") }, `${ratio.toFixed(2)}×`));
    }), el("p", { class: "muted" }, `window ending ${fmtClock(scoreTime)}`));
  }

  function renderStatus() {
    const rate = (() => {
      if (points.length < 2) return null;
      const tEnd = points[points.length - 1].t, from = tEnd - 2;
      let n = 0, first = tEnd;
      for (let k = points.length - 1; k >= 0 && points[k].t >= from; k--) { n += points[k].n; first = points[k].t; }
      return tEnd > first ? n / (tEnd - first + (points[1].t - points[0].t)) : null;
    })();
    const c = currentCycle;
    const started = c ? parseTime(c.started_at) : null;
    const ended = c && c.ended_at ? parseTime(c.ended_at) : null;
    const rows = [
      ["cycle", c ? `#${c.number} · ${short(c.id)}` : "none yet"],
      ["state", summary ? cycleChip(summary.cycle_state) : "—"],
      ["elapsed", started ? fmtDuration((ended || Date.now() / 1000) - started) : "—"],
      ["samples", c ? c.rows.toLocaleString() : "—"],
      ["rate", rate ? `${fmtNum(rate, 4)} rows/s` : "—"],
      ["model", summary ? (summary.scored ? el("a", { href: "#/models", title: summary.scoring }, short(summary.model_id))
        : el("span", { title: summary.scoring }, "not scored")) : "—"],
      ["last sample", summary && summary.last_sample_at ? fmtClock(summary.last_sample_at) : "—"],
    ];
    status.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { dataset: { field: k } }, v)]));
    root.dataset.rate = rate ? rate.toFixed(1) : "";
  }

  // Drawing: at most 30 frames a second, only when new data came.
  function frame(now) {
    if (!alive) return;
    if (dirty && now - lastDraw >= 33 && points.length) {
      dirty = false;
      lastDraw = now;
      waiting.hidden = true;
      const states = {};
      if (summary) for (const s of summary.sensors) states[s.name] = s.state;
      drawSignalLanes(canvas, { sensors, points, t1: points[points.length - 1].t, span, states });
      frames += 1;
      root.dataset.frames = String(frames);
      root.dataset.points = String(points.length);
      root.dataset.span = String(points[points.length - 1].t - points[0].t);
      document.getElementById("signal-info").textContent = `${sensors.length} sensors · ${points.length} points held`;
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  const slow = setInterval(() => { renderTable(); renderStatus(); }, 250);

  // A maintenance window suppresses every sensor (no state change, no event) until it ends.
  const inMaintenance = () => summary && summary.sensors.length > 0 && summary.sensors.every((x) => x.state === "SUPPRESSED");
  function renderMaintenance() {
    maintenanceButton.hidden = !(summary && summary.scored);
    maintenanceButton.textContent = inMaintenance() ? "End maintenance window" : "Start maintenance window";
  }
  async function toggleMaintenance() {
    const active = !inMaintenance();
    maintenanceMsg.className = "msg"; maintenanceMsg.textContent = "Saving…";
    try {
      summary = await api(`/api/v1/streams/${encodeURIComponent(id)}/maintenance`, { method: "POST", body: { active } });
      maintenanceMsg.className = "msg ok";
      maintenanceMsg.textContent = active ? "Maintenance window started: sensors suppressed." : "Maintenance window ended.";
      renderMaintenance();
    } catch (e) { maintenanceMsg.className = "msg error"; maintenanceMsg.textContent = e.explanation || e.message; }
  }

  async function loadSummary() {
    try {
      summary = await api(`/api/v1/streams/${encodeURIComponent(id)}`);
      if (!alive) return;
      title.textContent = `${summary.device_name || id}`;
      title.append(" ", el("span", { class: "muted mono" }, id));
      if (summary.model_id && (!model || model.id !== summary.model_id)) {
        const { models } = await api("/api/v1/models");
        model = models.find((x) => x.id === summary.model_id) || null;
        thresholds = {};
        if (model && model.sensorThresholds) model.sensors.forEach((s, j) => { thresholds[s] = model.sensorThresholds[j]; });
      }
      if (!sensors.length) { sensors = summary.sensors.map((s) => s.name); buildTable(); }
      renderMaintenance();
      if (!summary.scored && !Object.keys(scores).length) {
        scoreBars.replaceChildren(el("p", { class: "muted", id: "not-scored" }, `This stream is not scored: ${summary.scoring}.`));
      }
    } catch (e) {
      if (alive && e.status === 404) root.replaceChildren(el("div", { class: "panel" }, el("h1", {}, "Unknown stream"),
        el("p", {}, `No stream "${id}" is registered. `, el("a", { href: "#/" }, "Back to the fleet"))));
    }
  }

  async function loadCycles() {
    try {
      const { cycles } = await api(`/api/v1/streams/${encodeURIComponent(id)}/cycles`);
      if (!alive) return;
      currentCycle = cycles[0] || null;
      cyclesBody.replaceChildren(...cycles.slice(0, 50).map((c) => {
        const start = parseTime(c.started_at), end = parseTime(c.ended_at);
        return el("tr", { dataset: { cycle: c.id } },
          el("td", {}, String(c.number)), el("td", {}, cycleChip(c.state)), el("td", {}, fmtTime(c.started_at)),
          el("td", {}, end ? fmtDuration(end - start) : "running"), el("td", { class: "num" }, c.rows.toLocaleString()),
          el("td", { class: "num", style: `color:${healthColor(c.health_score)};font-weight:600` }, c.health_score === null ? "—" : fmtNum(c.health_score, 3)),
          el("td", {}, c.severity ? severityChip(c.severity) : "—"), el("td", {}, c.label || "—"),
          el("td", {}, el("a", { href: `#/cycle/${c.id}` }, end ? "report" : "details")));
      }));
    } catch { /* the banner tells */ }
  }

  // The last 30 s from the store, so the chart starts full; live points win where both exist.
  async function loadHistory() {
    try {
      const h = await api(`/api/v1/streams/${encodeURIComponent(id)}/signal?seconds=${KEEP - 2}`);
      if (!alive || !h.points.length) return;
      if (!sensors.length || h.sensors.join("\u0000") === sensors.join("\u0000")) {
        if (!sensors.length) { sensors = h.sensors; buildTable(); }
        const first = points.length ? points[0].t : Infinity;
        points.unshift(...h.points.filter((p) => p.t < first));
        dirty = true;
      }
    } catch { /* the banner tells */ }
  }

  loadSummary(); loadCycles(); loadHistory();
  const poll = setInterval(() => { loadSummary(); loadCycles(); }, 2000);
  return () => { alive = false; clearInterval(slow); clearInterval(poll); feed.close(); };
}
