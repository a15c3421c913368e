// Stream, live: decimated multi-sensor signal, scores against thresholds, cycle status, sensor
// statistics, alerts, and the stream's cycles. The state lives in StreamState (stream-state.js);
// this file renders it. State colours come from app.css only.
import { api } from "../api.js";
import { LiveFeed } from "../live.js";
import { drawSignalLanes } from "../charts.js";
import { el, stateChip, cycleChip, severityChip, fmtClock, fmtTime, fmtDuration, fmtNum, parseTime, healthClass, short } from "../format.js";
import { StreamState, KEEP, scoreLevel } from "./stream-state.js";

const SPANS = [5, 10, 30];

export function mount(root, [id], ctx) {
  let alive = true;
  let span = Number(sessionStorage.getItem("vertac.span")) || 10;
  const st = new StreamState(id);
  let dirty = false, frames = 0, lastDraw = 0;

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
    const change = st.apply(m);
    if (change.sensors) buildTable();
    if (change.signal) dirty = true;
    if (change.scores) renderScores();
    if (change.alert) pushAlert(change.alert.text, change.alert.level);
    if (change.reload && change.reload.summary) loadSummary();
    if (change.reload && change.reload.cycles) loadCycles();
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
    const body = el("tbody", {}, st.sensors.map((name) => {
      const c = {};
      const tr = el("tr", { dataset: { sensor: name } }, el("td", {}, name),
        c.state = el("td", {}),
        ...["current", "min", "max", "avg", "std", "rms", "p2p", "slope", "ratio"].map((k) => (c[k] = el("td", { class: "num" }, "—"))));
      cells[name] = c;
      return tr;
    }));
    table.replaceChildren(head, body);
  }

  function renderTable() {
    const points = st.points;
    if (!points.length) return;
    const t0 = points[points.length - 1].t - span;
    st.sensors.forEach((name, j) => {
      const c = cells[name];
      if (!c) return;
      const s = st.stats(j, t0);
      const state = st.summary && st.summary.sensors.find((x) => x.name === name);
      const stText = state ? state.state : "—";
      if (c.state.dataset.state !== stText) { c.state.replaceChildren(state ? stateChip(state.state) : "—"); c.state.dataset.state = stText; }
      if (s) for (const k of ["current", "min", "max", "avg", "std", "rms", "p2p", "slope"]) c[k].textContent = fmtNum(s[k], 4);
      c.ratio.textContent = st.scores[name] !== undefined ? `${st.scores[name].toFixed(2)}×` : "—";
    });
  }

  function renderScores() {
    const scores = st.scores;
    const names = Object.keys(scores);
    if (!names.length) return;
    const order = st.sensors.length ? st.sensors.filter((s) => s in scores) : names;
    scoreBars.replaceChildren(...order.map((name) => {
      // The server sends each sensor's score as a ratio to its threshold: the larger of the
      // reconstruction error over its threshold and the DTW deviation over its threshold.
      const ratio = scores[name];
      const th = st.thresholds[name];
      const width = Math.min(1, ratio / 3);
      return el("div", { class: "bar", dataset: { sensor: name } }, el("span", {}, name),
        el("div", { class: "track" }, el("div", { class: `fill level-${scoreLevel(ratio)}`, style: `width:${(width * 100).toFixed(1)}%` }),
          el("div", { class: "mark", style: "left:33.3%" })),
        el("span", { class: "mono", title: `${ratio.toFixed(3)} × threshold` + (th ? ` (reconstruction-error threshold ${fmtNum(th, 3)})` : "") }, `${ratio.toFixed(2)}×`));
    }), el("p", { class: "muted" }, `window ending ${fmtClock(st.scoreTime)}`));
  }

  function renderStatus() {
    const rate = st.rate();
    const summary = st.summary;
    const c = st.currentCycle;
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
    if (dirty && now - lastDraw >= 33 && st.points.length) {
      dirty = false;
      lastDraw = now;
      waiting.hidden = true;
      const points = st.points;
      drawSignalLanes(canvas, { sensors: st.sensors, points, t1: points[points.length - 1].t, span, states: st.states() });
      frames += 1;
      root.dataset.frames = String(frames);
      root.dataset.points = String(points.length);
      root.dataset.span = String(points[points.length - 1].t - points[0].t);
      document.getElementById("signal-info").textContent = `${st.sensors.length} sensors · ${points.length} points held`;
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  const slow = setInterval(() => { renderTable(); renderStatus(); }, 250);

  function renderMaintenance() {
    maintenanceButton.hidden = !(st.summary && st.summary.scored);
    maintenanceButton.textContent = st.inMaintenance() ? "End maintenance window" : "Start maintenance window";
  }
  async function toggleMaintenance() {
    const active = !st.inMaintenance();
    maintenanceMsg.className = "msg"; maintenanceMsg.textContent = "Saving…";
    try {
      st.setSummary(await api(`/api/v1/streams/${encodeURIComponent(id)}/maintenance`, { method: "POST", body: { active } }));
      maintenanceMsg.className = "msg ok";
      maintenanceMsg.textContent = active ? "Maintenance window started: sensors suppressed." : "Maintenance window ended.";
      renderMaintenance();
    } catch (e) { maintenanceMsg.className = "msg error"; maintenanceMsg.textContent = e.explanation || e.message; }
  }

  async function loadSummary() {
    try {
      const summary = await api(`/api/v1/streams/${encodeURIComponent(id)}`);
      if (!alive) return;
      const change = st.setSummary(summary);
      title.textContent = `${summary.device_name || id}`;
      title.append(" ", el("span", { class: "muted mono" }, id));
      if (change.needsModel) st.setModels((await api("/api/v1/models")).models);
      if (change.sensors) buildTable();
      renderMaintenance();
      if (!summary.scored && !Object.keys(st.scores).length) {
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
      st.cycles = cycles;
      cyclesBody.replaceChildren(...cycles.slice(0, 50).map((c) => {
        const start = parseTime(c.started_at), end = parseTime(c.ended_at);
        return el("tr", { dataset: { cycle: c.id } },
          el("td", {}, String(c.number)), el("td", {}, cycleChip(c.state)), el("td", {}, fmtTime(c.started_at)),
          el("td", {}, end ? fmtDuration(end - start) : "running"), el("td", { class: "num" }, c.rows.toLocaleString()),
          el("td", { class: `num health ${healthClass(c.health_score)}` }, c.health_score === null ? "—" : fmtNum(c.health_score, 3)),
          el("td", {}, c.severity ? severityChip(c.severity) : "—"), el("td", {}, c.label || "—"),
          el("td", {}, el("a", { href: `#/cycle/${c.id}` }, end ? "report" : "details")));
      }));
    } catch { /* the banner tells */ }
  }

  // The last 30 s from the store, so the chart starts full; live points win where both exist.
  async function loadHistory() {
    try {
      const h = await api(`/api/v1/streams/${encodeURIComponent(id)}/signal?seconds=${KEEP - 2}`);
      if (!alive) return;
      const hadSensors = st.sensors.length > 0;
      if (st.addHistory(h)) {
        if (!hadSensors) buildTable();
        dirty = true;
      }
    } catch { /* the banner tells */ }
  }

  loadSummary(); loadCycles(); loadHistory();
  const poll = setInterval(() => { loadSummary(); loadCycles(); }, 2000);
  return () => { alive = false; clearInterval(slow); clearInterval(poll); feed.close(); };
}
