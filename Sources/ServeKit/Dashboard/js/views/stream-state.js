// The live state of one stream's page, fed by the review feed's pushes (docs/push.schema.json)
// and the REST answers; no DOM here. stream.js renders it.

import { fmtNum } from "../format.js";

export const KEEP = 32; // seconds of signal points held

export class StreamState {
  constructor(id) {
    this.id = id;
    this.sensors = [];        // stream order, from the signal pushes (or the stream summary)
    this.points = [];         // decimated signal: {t, n, min[], max[], mean[]}
    this.scores = {};         // latest window: sensor → score over its threshold
    this.scoreTime = null;
    this.summary = null;      // GET /api/v1/streams/{id}
    this.model = null;        // the stream's model from GET /api/v1/models
    this.thresholds = {};     // sensor → reconstruction-error threshold of that model
    this.cycles = [];         // GET /api/v1/streams/{id}/cycles, newest first
  }

  get currentCycle() { return this.cycles[0] || null; }

  /**
   * Applies one push of this stream. Returns what changed, for the renderer:
   * `{signal, sensors, scores, alert: {text, level}, reload: {summary, cycles}}` (fields absent
   * when unchanged).
   */
  apply(m) {
    if (m.stream_id !== this.id) return {};
    const d = m.data || {};
    switch (m.type) {
      case "signal": {
        const changed = !sameList(d.sensors, this.sensors);
        if (changed) { this.sensors = d.sensors; this.points.length = 0; }
        this.addPoints(d.points);
        return { signal: true, sensors: changed };
      }
      case "window_scores":
        this.scores = d.sensor_scores;
        this.scoreTime = d.time;
        return { scores: true };
      case "cycle_report":
        return {
          alert: { text: `Cycle report: health ${fmtNum(d.health_score, 3)}, ${d.severity}${d.top_sensors.length ? ", top " + d.top_sensors.join(", ") : ""}`, level: d.severity },
          reload: { cycles: true },
        };
      case "sensor_state": {
        const s = this.summary && this.summary.sensors.find((x) => x.name === d.sensor);
        if (s) s.state = d.to;
        return { alert: { text: `${d.sensor}: ${d.from} → ${d.to} (${d.reason})`, level: d.to } };
      }
      case "cycle_state":
        return { alert: { text: `cycle ${d.from} → ${d.to}${d.reason ? " (" + d.reason + ")" : ""}`, level: d.to }, reload: { summary: true, cycles: true } };
      case "maintenance_event":
        return { alert: { text: `event ${d.severity} on ${d.sensor}: ${d.reason}`, level: d.severity } };
      default:
        return {};
    }
  }

  /** Adds signal points in time order (a point for the same bucket replaces the held one) and forgets those older than KEEP. */
  addPoints(points) {
    for (const p of points) {
      const last = this.points[this.points.length - 1];
      if (last && last.t === p.t) this.points[this.points.length - 1] = p;
      else if (!last || p.t > last.t) this.points.push(p);
    }
    const cut = this.points.length ? this.points[this.points.length - 1].t - KEEP : 0;
    let drop = 0;
    while (drop < this.points.length && this.points[drop].t < cut) drop++;
    if (drop) this.points.splice(0, drop);
  }

  /** The stored history (GET …/signal): fills the span before the first live point. Returns whether it was used. */
  addHistory(h) {
    if (!h.points.length) return false;
    if (this.sensors.length && !sameList(h.sensors, this.sensors)) return false;
    if (!this.sensors.length) this.sensors = h.sensors;
    const first = this.points.length ? this.points[0].t : Infinity;
    this.points.unshift(...h.points.filter((p) => p.t < first));
    return true;
  }

  setSummary(summary) {
    this.summary = summary;
    const sensorsChanged = !this.sensors.length;
    if (sensorsChanged) this.sensors = summary.sensors.map((s) => s.name);
    return { sensors: sensorsChanged, needsModel: !!summary.model_id && (!this.model || this.model.id !== summary.model_id) };
  }

  setModels(models) {
    this.model = models.find((x) => x.id === (this.summary && this.summary.model_id)) || null;
    this.thresholds = {};
    if (this.model && this.model.sensorThresholds) this.model.sensors.forEach((s, j) => { this.thresholds[s] = this.model.sensorThresholds[j]; });
  }

  /** Sensor states by name, from the summary. */
  states() {
    const out = {};
    if (this.summary) for (const s of this.summary.sensors) out[s.name] = s.state;
    return out;
  }

  /** A maintenance window suppresses every sensor (no state change, no event) until it ends. */
  inMaintenance() {
    return !!this.summary && this.summary.sensors.length > 0 && this.summary.sensors.every((x) => x.state === "SUPPRESSED");
  }

  /** Statistics of sensor j over the points from t0 on: min, max and average of the samples; std, RMS, peak-to-peak and slope of the bucket means. */
  stats(j, t0) {
    let lo = Infinity, hi = -Infinity, sum = 0, n = 0, m1 = 0, m2 = 0, k = 0, st = 0, stt = 0, sty = 0;
    let current = null;
    for (const p of this.points) {
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

  /** Rows per second over the last 2 s of points, or null. */
  rate() {
    const points = this.points;
    if (points.length < 2) return null;
    const tEnd = points[points.length - 1].t, from = tEnd - 2;
    let n = 0, first = tEnd;
    for (let k = points.length - 1; k >= 0 && points[k].t >= from; k--) { n += points[k].n; first = points[k].t; }
    return tEnd > first ? n / (tEnd - first + (points[1].t - points[0].t)) : null;
  }
}

/** How a score over its threshold reads: ok (≤ 1), warn (≤ 3) or crit. */
export const scoreLevel = (ratio) => (ratio <= 1 ? "ok" : ratio <= 3 ? "warn" : "crit");

function sameList(a, b) { return a.length === b.length && a.every((x, k) => x === b[k]); }
