// Maintenance events: open / acknowledged / resolved, filtered; acknowledge and resolve here.
import { api } from "../api.js";
import { LiveFeed } from "../live.js";
import { el, severityChip, statusChip, fmtTime, fmtNum } from "../format.js";

const STATUSES = ["OPEN", "ACKNOWLEDGED", "RESOLVED", "ALL"];

export function mount(root, _params, ctx) {
  let alive = true;
  let status = sessionStorage.getItem("vertac.events.status") || "OPEN";
  let streamFilter = "", severityFilter = "";
  const who = () => localStorage.getItem("vertac.user") || "engineer";

  const statusSeg = el("div", { class: "seg", id: "status-filter" }, STATUSES.map((s) =>
    el("button", { type: "button", dataset: { status: s }, class: s === status ? "on" : "", onclick: () => { status = s; sessionStorage.setItem("vertac.events.status", s); load(); } },
      s.toLowerCase())));
  const streamSelect = el("select", { id: "stream-filter", onchange: (e) => { streamFilter = e.target.value; load(); } }, el("option", { value: "" }, "all streams"));
  const severitySelect = el("select", { id: "severity-filter", onchange: (e) => { severityFilter = e.target.value; render(); } },
    el("option", { value: "" }, "any severity"), ["MEDIUM", "HIGH", "CRITICAL"].map((s) => el("option", { value: s }, s.toLowerCase())));
  const whoInput = el("input", { id: "who", value: who(), size: 12, title: "recorded as who acknowledged or resolved",
    onchange: (e) => localStorage.setItem("vertac.user", e.target.value.trim() || "engineer") });
  const count = el("span", { class: "muted", id: "events-count" });
  const body = el("tbody", { id: "events-body" });
  root.append(el("h1", {}, "Maintenance events"),
    el("div", { class: "toolbar" }, statusSeg, streamSelect, severitySelect, el("span", { class: "muted" }, "as"), whoInput, count),
    el("section", { class: "panel" }, el("table", { id: "events" },
      el("thead", {}, el("tr", {}, ["opened", "stream", "sensor", "severity", "status", "reason", "top sensors", "est. cost", "actions"].map((h) => el("th", {}, h)))), body)));

  let events = [];
  const names = {};
  async function load() {
    statusSeg.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.dataset.status === status));
    const q = new URLSearchParams();
    if (status !== "ALL") q.set("status", status);
    if (streamFilter) q.set("stream_id", streamFilter);
    try {
      events = (await api(`/api/v1/events?${q}`)).events;
      if (alive) render();
    } catch (e) { if (alive) count.textContent = e.explanation || e.message; }
  }

  async function loadStreams() {
    try {
      const { streams } = await api("/api/v1/streams");
      for (const s of streams) names[s.id] = s.device_name;
      if (events.length) render();
      for (const s of streams) streamSelect.append(el("option", { value: s.id }, s.device_name ? `${s.device_name} (${s.id})` : s.id));
    } catch { /* the banner tells */ }
  }

  function render() {
    const shown = events.filter((e) => !severityFilter || e.severity === severityFilter).sort((a, b) => b.openedAt - a.openedAt);
    count.textContent = `${shown.length} event${shown.length === 1 ? "" : "s"}`;
    body.replaceChildren(...(shown.length ? shown.map(row) : [el("tr", {}, el("td", { colspan: 9, class: "muted" }, "No events match."))]));
  }

  function row(e) {
    const msg = el("div", { class: "msg" });
    const actions = el("td", { class: "actions" });
    const note = el("input", { placeholder: "note", size: 16, class: "note" });
    if (e.status === "OPEN") {
      actions.append(el("div", { class: "inline-form" }, note,
        el("button", { class: "btn", dataset: { action: "acknowledge" }, onclick: () => act(e, "acknowledge", { by: who(), note: note.value || undefined }, msg) }, "Acknowledge")));
    }
    if (e.status !== "RESOLVED") {
      const resolution = el("select", { class: "resolution" }, [["fixed", "fixed"], ["false_positive", "false positive"], ["planned", "planned"]].map(([v, t]) => el("option", { value: v }, t)));
      const rnote = el("input", { placeholder: "resolution note", size: 16, class: "resolve-note" });
      actions.append(el("div", { class: "inline-form" }, resolution, rnote,
        el("button", { class: "btn secondary", dataset: { action: "resolve" }, onclick: () => act(e, "resolve", { by: who(), resolution: resolution.value, note: rnote.value || undefined }, msg) }, "Resolve")));
    } else {
      actions.append(el("div", { class: "muted" }, `${e.resolution ? e.resolution.replace("_", " ") : ""} by ${e.resolvedBy || "?"}${e.note ? " — " + e.note : ""}`));
    }
    if (e.status === "ACKNOWLEDGED") actions.prepend(el("div", { class: "muted" }, `acknowledged by ${e.acknowledgedBy || "?"} ${fmtTime(e.acknowledgedAt)}`));
    // The event's notes, oldest first, and a line to add one (any status).
    const notes = e.notes || [];
    if (notes.length) {
      actions.append(el("ol", { class: "notes" }, notes.map((n) =>
        el("li", {}, el("span", { class: "muted" }, `${n.author}, ${fmtTime(n.at)}: `), n.note))));
    }
    const extra = el("input", { placeholder: "add a note", size: 16, class: "add-note" });
    actions.append(el("div", { class: "inline-form" }, extra,
      el("button", { class: "btn secondary", dataset: { action: "note" }, onclick: () => { if (extra.value.trim()) act(e, "notes", { by: who(), note: extra.value }, msg); } }, "Add note")));
    actions.append(msg);
    return el("tr", { dataset: { event: e.id, status: e.status } },
      el("td", {}, fmtTime(e.openedAt)),
      el("td", {}, el("a", { href: `#/stream/${encodeURIComponent(e.stream)}`, title: e.stream }, names[e.stream] || e.stream.slice(0, 8))),
      el("td", {}, e.sensor), el("td", {}, severityChip(e.severity)), el("td", {}, statusChip(e.status)),
      el("td", {}, e.reason),
      el("td", {}, (e.topSensors || []).map((t) => `${t.sensor} ${fmtNum(t.score, 3)}`).join(", ")),
      el("td", { class: "num" }, e.estimatedCost === undefined || e.estimatedCost === null ? "—" : fmtNum(e.estimatedCost, 3)),
      actions);
  }

  async function act(e, action, body, msg) {
    msg.className = "msg"; msg.textContent = "Saving…";
    try {
      const updated = await api(`/api/v1/events/${encodeURIComponent(e.id)}/${action}`, { method: "POST", body });
      msg.className = "msg ok"; msg.textContent = `${updated.status.toLowerCase()}.`;
      setTimeout(load, 600);
    } catch (err) { msg.className = "msg error"; msg.textContent = err.explanation || err.message; }
  }

  // A pushed event redraws the list, but not while someone types in it (the poll catches up).
  const feed = new LiveFeed({ subscribe: [], events: true, samples: false },
    (m) => { if (m.type === "maintenance_event" && !body.contains(document.activeElement)) load(); }, ctx.liveStatus);
  loadStreams(); load();
  // Not while someone types a note.
  const poll = setInterval(() => { if (!body.contains(document.activeElement)) load(); }, 15000);
  return () => { alive = false; clearInterval(poll); feed.close(); };
}
