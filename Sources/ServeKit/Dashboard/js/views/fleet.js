// Fleet: every stream with its cycle state, last health score, sensor states and open events; live.
import { api } from "../api.js";
import { LiveFeed } from "../live.js";
import { el, cycleChip, severityChip, stateColorName, fmtClock, healthClass, fmtNum } from "../format.js";

export function mount(root, _params, ctx) {
  const summary = el("p", { class: "muted", id: "fleet-summary" }, "Loading streams…");
  const grid = el("div", { class: "grid3", id: "fleet" });
  root.append(el("h1", {}, "Fleet"), summary, grid);

  let timer = null, pending = false, alive = true;
  async function refresh() {
    pending = false;
    try {
      const [{ streams }, { events }] = await Promise.all([api("/api/v1/streams"), api("/api/v1/events?status=OPEN"),]);
      const acknowledged = (await api("/api/v1/events?status=ACKNOWLEDGED")).events;
      if (!alive) return;
      render(streams, events.concat(acknowledged));
    } catch (e) {
      if (alive) summary.textContent = `Could not load the fleet: ${e.explanation || e.message}`;
    }
  }
  function soon() { if (!pending) { pending = true; setTimeout(refresh, 400); } }

  function render(streams, openEvents) {
    const counts = {};
    for (const s of streams) for (const x of s.sensors) counts[x.state] = (counts[x.state] || 0) + 1;
    summary.textContent = streams.length
      ? `${streams.length} stream${streams.length === 1 ? "" : "s"} · ` +
        Object.entries(counts).map(([k, v]) => `${v} ${k.toLowerCase()}`).join(" · ") + ` · ${openEvents.length} open event${openEvents.length === 1 ? "" : "s"} · updated ${fmtClock(Date.now() / 1000)}`
      : "No stream has registered yet. Start one with “vertac-edge stream”.";
    streams.sort((a, b) => (a.device_name || "").localeCompare(b.device_name || "") || a.id.localeCompare(b.id));
    grid.replaceChildren(...streams.map((s) => card(s, openEvents.filter((e) => e.stream === s.id))));
  }

  function card(s, events) {
    const health = s.last_cycle_health;
    return el("article", { class: "card stream-card", dataset: { stream: s.id } },
      el("header", {},
        el("a", { href: `#/stream/${encodeURIComponent(s.id)}` }, s.device_name || s.id),
        cycleChip(s.cycle_state),
        el("span", { class: `health ${healthClass(health)}`, title: "health score of the last finished cycle" },
          health === null || health === undefined ? "—" : fmtNum(health, 3))),
      el("div", { class: "muted" }, `${s.id} · cycle ${s.cycle_number} · `,
        s.scored ? `model ${(s.model_id || "").slice(0, 8)}` : el("span", { title: s.scoring }, "not scored"),
        s.last_sample_at ? ` · last sample ${fmtClock(s.last_sample_at)}` : ""),
      el("div", { class: "sensors" }, s.sensors.map((x) =>
        el("div", { class: `sensor bg-${stateColorName(x.state)}`, dataset: { sensor: x.name, state: x.state },
          title: `${x.name}: ${x.state}${x.since ? " since " + fmtClock(x.since) : ""}` },
          el("b", {}, x.name), x.state))),
      events.length
        ? el("ul", { class: "ticker" }, events.slice(0, 4).map((e) =>
          el("li", {}, severityChip(e.severity), " ", el("a", { href: "#/events" }, e.sensor), ` ${e.status.toLowerCase()} · ${e.reason}`)))
        : el("div", { class: "muted" }, "No open events"));
  }

  const feed = new LiveFeed({ subscribe: "*", events: true, samples: false },
    (m) => {
      // Sensor and cycle changes, finished reports (not every scored window) and events.
      if (["sensor_state", "cycle_state", "cycle_report", "maintenance_event"].includes(m.type)) soon();
    }, ctx.liveStatus);
  refresh();
  timer = setInterval(refresh, 5000);
  return () => { alive = false; clearInterval(timer); feed.close(); };
}
