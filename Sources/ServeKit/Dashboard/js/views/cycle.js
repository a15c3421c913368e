// Cycle report: waveforms against the reference (aligned by the DTW path), deviation heatmap,
// contribution ranking, health gauge, severity and recommendations; for an aborted cycle the
// last seconds and the stop-cause hypothesis; label and CSV export.
import { api, download } from "../api.js";
import { drawWaveforms, drawHeatmap, gauge } from "../charts.js";
import { el, cycleChip, severityChip, fmtTime, fmtDuration, fmtNum, parseTime, cssColor, healthColorName, short } from "../format.js";

export function mount(root, [id], ctx) {
  let alive = true;
  const resize = [];
  root.append(el("p", { class: "muted" }, "Loading the cycle…"));

  (async () => {
    let detail;
    try {
      detail = await api(`/api/v1/cycles/${encodeURIComponent(id)}`);
    } catch (e) {
      if (!alive) return;
      root.replaceChildren(el("div", { class: "panel" }, el("h1", {}, "Cycle not available"), el("p", {}, e.explanation || e.message),
        el("a", { href: "#/" }, "Back to the fleet")));
      return;
    }
    if (!alive) return;
    const { cycle: c, report: r } = detail;
    const start = parseTime(c.started_at), end = parseTime(c.ended_at);
    const labelSelect = el("select", { id: "label-select" }, ["normal", "anomalous", "reference"].map((v) =>
      el("option", { value: v, selected: c.label === v }, v)));
    const labelMsg = el("span", { class: "msg", id: "label-message" });
    const labelNow = el("span", { id: "label-current" }, c.label || "none");
    const exportMsg = el("span", { class: "msg", id: "export-message" });
    const finished = c.state === "STOPPED" || c.state === "ABORTED";

    const header = el("section", { class: "panel" },
      el("div", { class: "toolbar" },
        el("a", { href: `#/stream/${encodeURIComponent(c.stream_id)}` }, `← ${c.stream_id}`),
        el("h1", { style: "margin:0" }, `Cycle ${c.number}`), cycleChip(c.state), r ? severityChip(r.severity) : ""),
      el("dl", { class: "kv" },
        el("dt", {}, "id"), el("dd", { class: "mono" }, c.id),
        el("dt", {}, "started"), el("dd", {}, fmtTime(c.started_at)),
        el("dt", {}, "ended"), el("dd", {}, c.ended_at ? fmtTime(c.ended_at) : "running"),
        el("dt", {}, "duration"), el("dd", {}, end ? fmtDuration(end - start) : "—"),
        el("dt", {}, "rows"), el("dd", {}, c.rows.toLocaleString()),
        el("dt", {}, "label"), el("dd", {}, labelNow)),
      el("div", { class: "inline-form" },
        el("label", { for: "label-select" }, "Label"), labelSelect,
        el("button", { class: "btn", id: "label-save", disabled: !finished, title: finished ? "" : "label a cycle once it has ended", onclick: saveLabel }, "Save label"),
        labelMsg,
        el("button", { class: "btn secondary", id: "export-csv", onclick: exportCSV }, "Export CSV"), exportMsg));

    async function saveLabel() {
      labelMsg.className = "msg"; labelMsg.textContent = "Saving…";
      try {
        const saved = await api(`/api/v1/cycles/${encodeURIComponent(c.id)}/label`, { method: "POST", body: { label: labelSelect.value } });
        labelNow.textContent = saved.label;
        labelMsg.className = "msg ok"; labelMsg.textContent = `Labelled ${saved.label}.`;
      } catch (e) { labelMsg.className = "msg error"; labelMsg.textContent = e.explanation || e.message; }
    }
    async function exportCSV() {
      exportMsg.className = "msg"; exportMsg.textContent = "Exporting…";
      try {
        const { name, bytes } = await download(`/api/v1/cycles/${encodeURIComponent(c.id)}/samples.csv`, `cycle-${c.number}.csv`);
        exportMsg.className = "msg ok"; exportMsg.textContent = `Saved ${name} (${bytes.toLocaleString()} bytes).`;
      } catch (e) { exportMsg.className = "msg error"; exportMsg.textContent = e.explanation || e.message; }
    }

    root.replaceChildren(header);
    if (!r) {
      root.append(el("section", { class: "panel", id: "no-report" }, el("h2", {}, "No report"),
        el("p", {}, finished ? "This cycle has no report: its stream had no model with a reference cycle when it ended."
          : "The report is computed when the cycle reaches STOPPED or ABORTED.")));
      return;
    }

    // Health, severity, recommendations, contributions.
    const bars = el("div", { class: "bars", id: "contributions" }, r.sensors.map((s) =>
      el("div", { class: "bar", dataset: { sensor: s.sensor } }, el("span", {}, s.sensor),
        el("div", { class: "track" }, el("div", { class: `fill level-${s.ratio > 1 ? (s.ratio > 3 ? "crit" : "warn") : "ok"}`, style: `width:${(s.contribution * 100).toFixed(1)}%` })),
        el("span", { class: "mono", title: `deviation ratio ρ = ${s.ratio.toFixed(3)} (1 = at the threshold)` }, `${(s.contribution * 100).toFixed(1)}%`))));
    root.append(el("div", { class: "grid2" },
      el("section", { class: "panel" }, el("h2", {}, "Contribution to the deviation"),
        el("p", { class: "muted", style: "margin-top:0" }, "Share of each sensor in Σρ²; ρ is its DTW-aligned deviation over its threshold."), bars,
        el("table", { id: "sensor-report" }, el("thead", {}, el("tr", {}, ["sensor", "ρ", "DTW to ref.", "Euclid. to ref.", "DTW to prev.", "max dev.", "mean dev."].map((h, k) => el("th", { class: k ? "num" : "" }, h)))),
          el("tbody", {}, r.sensors.map((s) => el("tr", {}, el("td", {}, s.sensor), ...[s.ratio, s.dtwToReference, s.euclideanToReference, s.dtwToPrevious, s.maxDeviation, s.meanDeviation]
            .map((v) => el("td", { class: "num" }, fmtNum(v, 3)))))))),
      el("section", { class: "panel", id: "health" }, el("h2", {}, "Health"),
        gauge(r.healthScore, cssColor(healthColorName(r.healthScore))),
        el("p", {}, "Severity ", severityChip(r.severity), ` · ${r.rows.toLocaleString()} rows against a reference of ${r.referenceRows.toLocaleString()}`),
        el("h2", {}, "Recommendations"),
        r.recommendations.length ? el("ul", { class: "recommendations" }, r.recommendations.map((x) => el("li", {}, x))) : el("p", { class: "muted" }, "None."),
        r.stopCause ? el("div", { id: "stop-cause" }, el("h2", {}, "Why it stopped"),
          el("p", {}, el("b", {}, { connection_loss: "Connection loss", sensor_fault: "Sensor fault", process: "Process" }[r.stopCause] || r.stopCause),
            r.stopCauseDetail ? ` — ${r.stopCauseDetail}` : "")) : "")));

    // Aborted: the last seconds before the stop.
    if (r.lastRows && r.lastRowsTimes && r.lastRowsTimes.length) {
      const D = r.lastRows.length / r.lastRowsTimes.length;
      const names = r.sensorNames && r.sensorNames.length === D ? r.sensorNames : await sensorNames(c.stream_id, D);
      const t0 = r.lastRowsTimes[0];
      const time = r.lastRowsTimes.map((t) => t - t0);
      const lanes = names.map((name, j) => ({ name, cycle: time.map((_, k) => r.lastRows[k * D + j]), reference: [] }));
      const canvas = el("canvas", { id: "last-rows" });
      root.append(el("section", { class: "panel" }, el("h2", {}, `Last ${fmtDuration(time[time.length - 1])} before the stop`), canvas));
      const draw = () => drawWaveforms(canvas, { time, lanes, laneHeight: 44 });
      draw(); resize.push(draw);
    }

    // Waveforms and heatmap from the aligned cycle.
    const wavePanel = el("section", { class: "panel" }, el("h2", {}, "Waveforms against the reference cycle"), el("p", { class: "muted" }, "Loading…"));
    const heatPanel = el("section", { class: "panel" }, el("h2", {}, "Deviation over time"));
    root.append(wavePanel, heatPanel);
    try {
      const { alignment: a, model_id } = await api(`/api/v1/cycles/${encodeURIComponent(c.id)}/aligned?points=600`);
      if (!alive) return;
      const order = r.sensors.map((s) => s.sensor).filter((s) => a.sensors.includes(s));
      const ratio = Object.fromEntries(r.sensors.map((s) => [s.sensor, s.ratio]));
      const lanes = order.map((name) => {
        const j = a.sensors.indexOf(name);
        return { name, cycle: a.cycle[j], reference: a.reference[j], note: `ρ ${ratio[name].toFixed(2)}` };
      });
      const wave = el("canvas", { id: "waveforms" });
      wavePanel.replaceChildren(el("h2", {}, "Waveforms against the reference cycle"),
        el("div", { class: "legend" }, el("span", {}, el("i", { style: "border-color:#1f77b4" }), "this cycle"),
          el("span", {}, el("i", { style: "border-color:#7a7f87;border-top-style:dashed" }), `reference (model ${short(model_id)}), aligned by ${a.alignedBy === "dtw" ? "the DTW path" : "stretching"}`),
          el("span", {}, `${a.rowsPerPoint} row${a.rowsPerPoint === 1 ? "" : "s"} per point`)), wave);
      const heat = el("canvas", { id: "heatmap" });
      heatPanel.append(el("p", { class: "muted", style: "margin-top:0" }, "RMS deviation from the aligned reference over the sensor's threshold, sensors ranked by contribution."), heat);
      const draw = () => {
        drawWaveforms(wave, { time: a.time, lanes });
        drawHeatmap(heat, { sensors: order, time: a.time, values: order.map((n) => a.deviation[a.sensors.indexOf(n)]) });
      };
      draw(); resize.push(draw);
      root.dataset.charts = "ready";
    } catch (e) {
      wavePanel.replaceChildren(el("h2", {}, "Waveforms against the reference cycle"), el("p", { class: "muted" }, e.explanation || e.message));
      heatPanel.remove();
      root.dataset.charts = "unavailable";
    }
  })();

  // Reports stored before they named their sensors: the model's sensor order, guessed from the
  // stream's current model.
  async function sensorNames(stream, D) {
    try {
      const s = await api(`/api/v1/streams/${encodeURIComponent(stream)}`);
      if (s.model_id) {
        const m = (await api("/api/v1/models")).models.find((x) => x.id === s.model_id);
        if (m && m.sensors.length === D) return m.sensors;
      }
      if (s.sensors.length === D) return s.sensors.map((x) => x.name);
    } catch { /* fall through */ }
    return Array.from({ length: D }, (_, j) => `sensor ${j + 1}`);
  }

  const onResize = () => resize.forEach((f) => f());
  window.addEventListener("resize", onResize);
  return () => { alive = false; window.removeEventListener("resize", onResize); };
}
