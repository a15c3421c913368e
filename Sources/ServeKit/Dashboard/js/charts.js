// Our own small charts: canvas for dense signals, SVG for gauges and curves.

import { cssColor, stateColorName } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
export const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
  "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];

/** Sizes a canvas for the device's pixel ratio; returns its context in CSS pixels. */
export function prepare(canvas, height) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.parentElement.clientWidth || 600;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  return { ctx, width, height };
}

function niceRange(lo, hi) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi - lo < 1e-9) { const pad = Math.abs(hi) * 0.05 || 1; return [lo - pad, hi + pad]; }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

const label = (v) => {
  const a = Math.abs(v);
  return a >= 1e5 || (a < 0.01 && a !== 0) ? v.toExponential(1) : Number(v.toPrecision(3)).toLocaleString("en-US");
};

/**
 * Live signal: one lane per sensor, each with its own scale. Points are {t, min[], max[], mean[]},
 * in time order; the x axis spans [t1 - span, t1]. Each pixel column shows the min–max envelope
 * of the points in it and their mean.
 */
export function drawSignalLanes(canvas, { sensors, points, t1, span, laneHeight = 46, states = {} }) {
  const left = 150, right = 8, gap = 4;
  const height = Math.max(60, sensors.length * (laneHeight + gap) + 20);
  const { ctx, width } = prepare(canvas, height);
  const plotW = width - left - right;
  const t0 = t1 - span;
  // First visible point.
  let start = points.length;
  for (let k = points.length - 1; k >= 0; k--) { if (points[k].t < t0) break; start = k; }
  sensors.forEach((name, j) => {
    const top = j * (laneHeight + gap);
    let lo = Infinity, hi = -Infinity;
    for (let k = start; k < points.length; k++) { lo = Math.min(lo, points[k].min[j]); hi = Math.max(hi, points[k].max[j]); }
    const [ymin, ymax] = niceRange(lo, hi);
    const y = (v) => top + laneHeight - ((v - ymin) / (ymax - ymin)) * laneHeight;
    ctx.fillStyle = "#f7f9fb";
    ctx.fillRect(left, top, plotW, laneHeight);
    const color = palette[j % palette.length];
    // Envelope and mean per pixel column.
    const cols = new Map();
    for (let k = start; k < points.length; k++) {
      const p = points[k];
      const x = Math.floor(left + ((p.t - t0) / span) * plotW);
      const c = cols.get(x);
      if (c) { c.lo = Math.min(c.lo, p.min[j]); c.hi = Math.max(c.hi, p.max[j]); c.sum += p.mean[j]; c.n += 1; }
      else cols.set(x, { lo: p.min[j], hi: p.max[j], sum: p.mean[j], n: 1 });
    }
    ctx.fillStyle = color + "55";
    for (const [x, c] of cols) { const a = y(c.hi), b = y(c.lo); ctx.fillRect(x, a, 1, Math.max(1, b - a)); }
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    let first = true;
    for (const [x, c] of cols) { const v = y(c.sum / c.n); if (first) { ctx.moveTo(x, v); first = false; } else ctx.lineTo(x, v); }
    ctx.stroke();
    // Label, state and scale.
    ctx.fillStyle = states[name] ? cssColor(stateColorName(states[name])) : cssColor("muted");
    ctx.fillRect(0, top, 4, laneHeight);
    ctx.fillStyle = "#1b2430";
    ctx.fillText(name, 10, top + 14);
    ctx.fillStyle = "#5f6b7a";
    if (Number.isFinite(lo)) {
      ctx.fillText(`${label(ymax)}`, 10, top + 28);
      ctx.fillText(`${label(ymin)}`, 10, top + laneHeight - 3);
    } else ctx.fillText("no data", 10, top + 28);
  });
  // Time axis.
  ctx.fillStyle = "#5f6b7a";
  const axisY = sensors.length * (laneHeight + gap) + 12;
  for (let s = 0; s <= span; s += span <= 10 ? 1 : 5) {
    const x = left + ((span - s) / span) * plotW;
    ctx.fillText(s === 0 ? "now" : `−${s} s`, Math.min(x - 8, width - 30), axisY);
  }
}


/** A cycle against the reference aligned to it, one lane per sensor (raw units). */
export function drawWaveforms(canvas, { time, lanes, laneHeight = 70 }) {
  const left = 150, right = 8, gap = 6;
  const height = lanes.length * (laneHeight + gap) + 22;
  const { ctx, width } = prepare(canvas, height);
  const plotW = width - left - right;
  const tmax = time.length ? time[time.length - 1] : 1, tmin = time.length ? time[0] : 0;
  const x = (t) => left + ((t - tmin) / Math.max(1e-9, tmax - tmin)) * plotW;
  lanes.forEach((lane, j) => {
    const top = j * (laneHeight + gap);
    const all = lane.cycle.concat(lane.reference).filter(Number.isFinite);
    const [ymin, ymax] = niceRange(Math.min(...all), Math.max(...all));
    const y = (v) => top + laneHeight - ((v - ymin) / (ymax - ymin)) * laneHeight;
    ctx.fillStyle = "#f7f9fb";
    ctx.fillRect(left, top, plotW, laneHeight);
    const line = (values, color, dash, w) => {
      ctx.strokeStyle = color; ctx.lineWidth = w; ctx.setLineDash(dash);
      ctx.beginPath();
      values.forEach((v, k) => (k ? ctx.lineTo(x(time[k]), y(v)) : ctx.moveTo(x(time[k]), y(v))));
      ctx.stroke();
      ctx.setLineDash([]);
    };
    line(lane.reference, "#7a7f87", [5, 3], 1.4);
    line(lane.cycle, palette[j % palette.length], [], 1.6);
    ctx.fillStyle = "#1b2430";
    ctx.fillText(lane.name, 10, top + 12);
    ctx.fillStyle = "#5f6b7a";
    if (lane.note) ctx.fillText(lane.note, 10, top + 25);
    // The scale, right-aligned against the plot, below the name.
    ctx.textAlign = "right";
    if (laneHeight >= (lane.note ? 60 : 36)) ctx.fillText(label(ymax), left - 6, top + (lane.note ? 38 : 25));
    ctx.fillText(label(ymin), left - 6, top + laneHeight - 3);
    ctx.textAlign = "left";
  });
  ctx.fillStyle = "#5f6b7a";
  const axisY = lanes.length * (laneHeight + gap) + 12;
  const step = niceStep((tmax - tmin) / 8);
  for (let t = Math.ceil(tmin / step) * step; t <= tmax; t += step) ctx.fillText(`${label(t)} s`, x(t) - 8, axisY);
}

function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/** Deviation heatmap: sensors × time; 0 white, 1 (the threshold) amber, ≥ 3 red. */
export function drawHeatmap(canvas, { sensors, time, values, rowHeight = 22 }) {
  const left = 150, right = 8;
  const height = sensors.length * rowHeight + 40;
  const { ctx, width } = prepare(canvas, height);
  const plotW = width - left - right;
  const n = time.length;
  const cw = plotW / Math.max(1, n);
  sensors.forEach((name, j) => {
    for (let k = 0; k < n; k++) {
      ctx.fillStyle = heatColor(values[j][k]);
      ctx.fillRect(left + k * cw, j * rowHeight, Math.ceil(cw), rowHeight - 1);
    }
    ctx.fillStyle = "#1b2430";
    ctx.fillText(name, 10, j * rowHeight + 15);
  });
  // Scale.
  const y = sensors.length * rowHeight + 8;
  for (let k = 0; k <= 60; k++) { ctx.fillStyle = heatColor((k / 60) * 3); ctx.fillRect(left + k * 3, y, 3, 10); }
  ctx.fillStyle = "#5f6b7a";
  ctx.fillText("0", left, y + 24); ctx.fillText("1 = threshold", left + 50, y + 24); ctx.fillText("≥3", left + 172, y + 24);
  if (n) ctx.fillText(`${label(time[n - 1])} s`, width - 50, y + 24);
}

export function heatColor(v) {
  if (!Number.isFinite(v)) return "#eeeeee";
  const stops = [[0, [255, 255, 255]], [0.5, [207, 232, 212]], [1, [247, 196, 92]], [2, [232, 98, 52]], [3, [168, 18, 32]]];
  const x = Math.max(0, Math.min(3, v));
  for (let k = 1; k < stops.length; k++) {
    if (x <= stops[k][0]) {
      const [a, ca] = stops[k - 1], [b, cb] = stops[k];
      const f = (x - a) / (b - a);
      const c = ca.map((u, i) => Math.round(u + (cb[i] - u) * f));
      return `rgb(${c[0]},${c[1]},${c[2]})`;
    }
  }
  return "rgb(168,18,32)";
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Health gauge: a half circle filled to the score (0–100). */
export function gauge(score, color) {
  const root = svg("svg", { viewBox: "0 0 200 120", width: "220", height: "132", role: "img", "aria-label": `health ${score}` });
  const arc = (from, to) => {
    const a0 = Math.PI * (1 - from / 100), a1 = Math.PI * (1 - to / 100);
    const p = (a) => [100 + 80 * Math.cos(a), 100 - 80 * Math.sin(a)];
    const [x0, y0] = p(a0), [x1, y1] = p(a1);
    return `M ${x0} ${y0} A 80 80 0 0 1 ${x1} ${y1}`;
  };
  root.append(svg("path", { d: arc(0, 100), stroke: "#e6e9ed", "stroke-width": 18, fill: "none" }));
  const s = Number.isFinite(score) ? Math.max(0, Math.min(100, score)) : 0;
  if (s > 0) root.append(svg("path", { d: arc(0, s), stroke: color, "stroke-width": 18, fill: "none" }));
  root.append(svg("text", { x: 100, y: 92, "text-anchor": "middle", "font-size": 32, "font-weight": 700, fill: "#1b2430" },
    Number.isFinite(score) ? score.toFixed(1) : "—"));
  root.append(svg("text", { x: 100, y: 114, "text-anchor": "middle", "font-size": 12, fill: "#5f6b7a" }, "health score"));
  return root;
}

/** Line chart of a few series ({name, values, color}) against their index (loss curves). */
export function lineSVG(series, { width = 420, height = 160, xLabel = "epoch", log = false } = {}) {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", height, role: "img" });
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!all.length) { root.append(svg("text", { x: 10, y: 20, fill: "#5f6b7a", "font-size": 12 }, "no curve stored")); return root; }
  const f = log ? Math.log10 : (v) => v;
  let lo = Math.min(...all.map(f)), hi = Math.max(...all.map(f));
  if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
  const n = Math.max(...series.map((s) => s.values.length));
  const L = 48, R = 8, T = 8, B = 22;
  const x = (k) => L + (k / Math.max(1, n - 1)) * (width - L - R);
  const y = (v) => T + (1 - (f(v) - lo) / (hi - lo)) * (height - T - B);
  root.append(svg("rect", { x: L, y: T, width: width - L - R, height: height - T - B, fill: "#f7f9fb" }));
  for (const s of series) {
    const d = s.values.map((v, k) => `${k ? "L" : "M"} ${x(k).toFixed(1)} ${y(Math.max(v, log ? 1e-12 : v)).toFixed(1)}`).join(" ");
    root.append(svg("path", { d, stroke: s.color, fill: "none", "stroke-width": 1.6 }));
  }
  const fmt = (v) => (log ? 10 ** v : v);
  root.append(svg("text", { x: 4, y: T + 10, "font-size": 10, fill: "#5f6b7a" }, label(fmt(hi))));
  root.append(svg("text", { x: 4, y: height - B, "font-size": 10, fill: "#5f6b7a" }, label(fmt(lo))));
  root.append(svg("text", { x: width - R, y: height - 6, "font-size": 10, fill: "#5f6b7a", "text-anchor": "end" }, `${n} ${xLabel}s`));
  series.forEach((s, i) => {
    root.append(svg("line", { x1: L + 10 + i * 110, x2: L + 28 + i * 110, y1: height - 10, y2: height - 10, stroke: s.color, "stroke-width": 2 }));
    root.append(svg("text", { x: L + 32 + i * 110, y: height - 6, "font-size": 10, fill: "#1b2430" }, s.name));
  });
  return root;
}
