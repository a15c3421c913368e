// The review API: the token kept in the browser, JSON requests and their errors.

const TOKEN_KEY = "vertac.token";

export function token() { return localStorage.getItem(TOKEN_KEY) || ""; }
export function setToken(t) { t ? localStorage.setItem(TOKEN_KEY, t.trim()) : localStorage.removeItem(TOKEN_KEY); }

/** An API answer that is not 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** What to tell an engineer. */
  get explanation() {
    if (this.status === 0) return `The server cannot be reached (${this.message}). Retrying…`;
    if (this.status === 401) return "The server does not recognise this token (401). Enter a valid token: an admin creates one with “vertac-serve token create --scope engineer”.";
    if (this.status === 403) return `This token is not allowed to do that (403): ${this.message}`;
    return `${this.message} (${this.status}${this.code ? " " + this.code : ""})`;
  }
}

const listeners = new Set();
/** Called with every ApiError of status 0, 401 or 403 (the banner shows them), and with null on success. */
export function onAuthOrNetwork(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function notify(e) { for (const fn of listeners) fn(e); }

/** A request to the server; JSON in and out unless `raw`. */
export async function api(path, { method = "GET", body, raw = false, quiet = false } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch (err) {
    const e = new ApiError(0, "network", err.message || "network error");
    if (!quiet) notify(e);
    throw e;
  }
  if (!response.ok) {
    let code = "", message = response.statusText;
    try {
      const j = await response.json();
      if (j && j.error) { code = j.error.code; message = j.error.message; }
    } catch { /* not JSON */ }
    const e = new ApiError(response.status, code, message);
    if (!quiet && (e.status === 401)) notify(e);
    throw e;
  }
  if (!quiet) notify(null);
  return raw ? response : response.json();
}

/** Downloads a file the API serves (the bearer token rides in a header, so no plain link). */
export async function download(path, fallbackName) {
  const response = await api(path, { raw: true });
  const blob = await response.blob();
  const disposition = response.headers.get("content-disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = match ? match[1] : fallbackName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return { name: a.download, bytes: blob.size };
}
