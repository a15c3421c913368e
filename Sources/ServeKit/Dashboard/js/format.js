// Small formatting and DOM helpers.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function chip(text, cls) { return el("span", { class: `chip ${cls}` }, text); }
export const stateChip = (s) => chip(s, `st-${s}`);
export const cycleChip = (s) => chip(s, `cy-${s}`);
export const severityChip = (s) => chip(s, `sev-${s}`);
export const statusChip = (s) => chip(s, `ev-${s}`);

/** A colour defined in app.css (`--name`), for canvas and SVG drawing: colours live in the CSS only. */
export function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim() || "gray";
}

/** The CSS colour name of a sensor state (NORMAL → normal, …; anything else: unscored). */
export function stateColorName(state) {
  return ["NORMAL", "WARNING", "CRITICAL", "STALE", "SUPPRESSED"].includes(state) ? state.toLowerCase() : "unscored";
}

export function parseTime(t) {
  if (t === null || t === undefined) return null;
  if (typeof t === "number") return t;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms / 1000;
}

export function fmtTime(t) {
  const s = parseTime(t);
  if (s === null) return "—";
  return new Date(s * 1000).toLocaleString(undefined, { hour12: false });
}

export function fmtClock(t) {
  const s = parseTime(t);
  if (s === null) return "—";
  return new Date(s * 1000).toLocaleTimeString(undefined, { hour12: false });
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h} h ${m} min` : m ? `${m} min ${r} s` : `${r} s`;
}

export function fmtNum(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toLocaleString(undefined, { maximumFractionDigits: 4 });
}

/** The colour name of a health score: normal (≥ 80), warning (≥ 50), critical, or unscored. */
export function healthColorName(h) {
  if (h === null || h === undefined) return "unscored";
  return h >= 80 ? "normal" : h >= 50 ? "warning" : "critical";
}

/** The CSS class that colours a health score's text (app.css `.health-…`). */
export const healthClass = (h) => `health-${healthColorName(h)}`;

export const short = (id) => (id || "").slice(0, 8);
