// The dashboard shell: token entry, hash routes, the connection badge and the message banner.
import { api, ApiError, token, setToken, onAuthOrNetwork } from "./api.js";
import { el } from "./format.js";
import * as fleet from "./views/fleet.js";
import * as stream from "./views/stream.js";
import * as cycle from "./views/cycle.js";
import * as events from "./views/events.js";
import * as models from "./views/models.js";

const routes = [
  [/^#?\/?$/, fleet, "fleet"],
  [/^#\/stream\/(.+)$/, stream, "fleet"],
  [/^#\/cycle\/(.+)$/, cycle, "fleet"],
  [/^#\/events$/, events, "events"],
  [/^#\/models$/, models, "models"],
];

const view = document.getElementById("view");
const banner = document.getElementById("banner");
const connection = document.getElementById("connection");
let unmount = null;
let bannerSource = null;

/** Shows a message above the page; `source` lets whoever set it clear only its own. */
export function setBanner(text, kind = "error", source = "app") {
  if (!text) {
    if (bannerSource === source || source === "all") { banner.hidden = true; banner.textContent = ""; bannerSource = null; }
    return;
  }
  banner.className = `banner ${kind}`;
  banner.textContent = text;
  banner.hidden = false;
  bannerSource = source;
}

/** The live feed's state, for the badge and the banner. */
function liveStatus(s) {
  connection.hidden = false;
  if (s.state === "live") {
    connection.textContent = "live";
    connection.className = "connection live";
    if (bannerSource === "live") setBanner("Reconnected to the server.", "ok", "live-ok");
    setTimeout(() => setBanner(null, "ok", "live-ok"), 3000);
  } else if (s.state === "lost") {
    connection.textContent = "reconnecting";
    connection.className = "connection lost";
    setBanner(`Connection to the server lost — reconnecting in ${Math.round(s.retryIn)} s (attempt ${s.attempt}). ` +
      "What is shown may be out of date.", "warn", "live");
  } else {
    connection.textContent = "connecting";
    connection.className = "connection";
  }
}

onAuthOrNetwork((e) => {
  if (!e) { if (bannerSource === "api") setBanner(null, "ok", "api"); return; }
  if (e.status === 401) { showLogin(e.explanation); return; }
  // The live feed's own message (with its retry countdown) says more than a failed request.
  if (bannerSource === "live") return;
  setBanner(e.explanation, "error", "api");
});

const ctx = { setBanner, liveStatus };

function route() {
  if (!token()) { showLogin(); return; }
  if (unmount) { try { unmount(); } catch (err) { console.warn(err); } unmount = null; }
  connection.hidden = true;  // shown again by views that keep a live feed
  const hash = location.hash || "#/";
  for (const [re, module, nav] of routes) {
    const m = re.exec(hash);
    if (!m) continue;
    document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
    view.replaceChildren();
    document.getElementById("signout").hidden = false;
    unmount = module.mount(view, m.slice(1).map(decodeURIComponent), ctx) || null;
    return;
  }
  view.replaceChildren(el("div", { class: "panel" }, el("h1", {}, "Not found"), el("p", {}, "No page at ", el("code", {}, hash), ". ",
    el("a", { href: "#/" }, "Go to the fleet"))));
}

/** The token form. A token is checked against the API before it is kept. */
function showLogin(message) {
  if (unmount) { try { unmount(); } catch { /* gone */ } unmount = null; }
  connection.textContent = "offline";
  connection.className = "connection";
  document.getElementById("signout").hidden = true;
  setBanner(null, "ok", "all");
  const input = el("input", { id: "token-input", type: "password", autocomplete: "off", placeholder: "vt_…", value: "" });
  const msg = el("p", { id: "token-message", class: message ? "msg error" : "msg" }, message || "");
  const form = el("form", { class: "panel login", id: "token-form" },
    el("h1", {}, "Sign in with an access token"),
    el("p", { class: "muted" }, "Paste a token with the engineer scope (admin tokens work too). It is kept in this browser only. ",
      "An admin creates one with ", el("code", {}, "vertac-serve token create --scope engineer --name you"), "."),
    input,
    el("div", { class: "inline-form" }, el("button", { class: "btn", type: "submit", id: "token-submit" }, "Sign in")),
    msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const candidate = input.value.trim();
    if (!candidate) { msg.className = "msg error"; msg.textContent = "Enter a token."; return; }
    const previous = token();
    setToken(candidate);
    msg.className = "msg"; msg.textContent = "Checking…";
    try {
      await api("/api/v1/streams", { quiet: true });
      route();
    } catch (e) {
      setToken(previous === candidate ? "" : previous);
      if (!(e instanceof ApiError)) throw e;
      msg.className = "msg error";
      msg.textContent = e.status === 403
        ? "This token is valid but lacks the engineer scope (403): an ingest token cannot read the review API. Use an engineer or admin token."
        : e.explanation;
      setToken("");
    }
  });
  view.replaceChildren(form);
  input.focus();
}

document.getElementById("signout").addEventListener("click", () => { setToken(""); showLogin(); });
window.addEventListener("hashchange", route);
route();
