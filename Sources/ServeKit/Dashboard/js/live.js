// The review feed (/api/v1/live): one WebSocket, resubscribed after every reconnection, with
// exponential backoff (1 s doubling to 30 s, with jitter).
import { token } from "./api.js";

export class LiveFeed {
  /**
   * @param subscription what to send on every (re)connection, e.g. {subscribe: "*", events: true}
   * @param onMessage called with each parsed message
   * @param onStatus called with {state: "connecting"|"live"|"lost", attempt, retryIn}
   */
  constructor(subscription, onMessage, onStatus) {
    this.subscription = subscription;
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.attempt = 0;
    this.closed = false;
    this.timer = null;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/api/v1/live?token=${encodeURIComponent(token())}`;
    this.onStatus({ state: "connecting", attempt: this.attempt });
    let opened = false;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      ws.send(JSON.stringify(this.subscription));
      this.onStatus({ state: "live", attempt: 0 });
    };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      this.onMessage(msg);
    };
    ws.onerror = () => { /* onclose follows and schedules the retry */ };
    ws.onclose = () => {
      if (this.closed) return;
      this.attempt += 1;
      const delay = Math.min(30, 2 ** (this.attempt - 1)) * (0.8 + 0.4 * Math.random());
      this.onStatus({ state: "lost", attempt: this.attempt, retryIn: delay, wasOpen: opened });
      this.timer = setTimeout(() => this.connect(), delay * 1000);
    };
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}
