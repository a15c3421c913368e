"""The engineers' dashboard in a real browser (Debian's chromium + chromedriver, selenium).

Run by scripts/browser-test.sh against a running vertac-serve fed with simulated data; it passes
everything through the environment:

  VERTAC_URL            the server, e.g. http://127.0.0.1:8091
  VERTAC_ADMIN_TOKEN, VERTAC_ENGINEER_TOKEN, VERTAC_INGEST_TOKEN
  VERTAC_PUMP_DEVICE    device name of the simulated pump stream (scored, with faults)
  VERTAC_FAST_SENSORS   sensor count of the fast stream (10 sensors at 1 kHz, unscored)
  VERTAC_SERVER_CMD     JSON list: the command that (re)starts the server
  VERTAC_SERVER_PID     file holding the server's pid
  VERTAC_ARTIFACTS      folder for screenshots and the browser log

Every view is loaded and checked against the API; the browser console must stay free of errors
(the only ones allowed are those a step provokes on purpose: the 401/403 of a wrong token and
the failed reconnections while the server is down, each matched by its text).
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["VERTAC_URL"].rstrip("/")
ADMIN = os.environ["VERTAC_ADMIN_TOKEN"]
ENGINEER = os.environ["VERTAC_ENGINEER_TOKEN"]
INGEST = os.environ["VERTAC_INGEST_TOKEN"]
PUMP = os.environ.get("VERTAC_PUMP_DEVICE", "pump-browser")
FAST_SENSORS = int(os.environ.get("VERTAC_FAST_SENSORS", "10"))
ART = os.environ.get("VERTAC_ARTIFACTS", "artifacts/browser")
os.makedirs(ART, exist_ok=True)

failures = []
console_log = []


def log(msg):
    print(f"[browser] {msg}", flush=True)


def check(cond, what):
    if cond:
        log(f"ok   {what}")
    else:
        log(f"FAIL {what}")
        failures.append(what)
    return cond


def get(path, token=ENGINEER):
    req = urllib.request.Request(URL + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def wait_for(fn, timeout=30, step=0.25, what="condition"):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 — retried until the timeout
            last = e
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def console(driver, phase, allowed=()):
    """Browser console entries since the last call; errors not in `allowed` fail the run."""
    entries = driver.get_log("browser")
    bad = []
    for e in entries:
        console_log.append({"phase": phase, **e})
        if e["level"] == "SEVERE" and not any(a in e["message"] for a in allowed):
            bad.append(e["message"])
    check(not bad, f"{phase}: no console errors" + (f" (got: {bad[:3]})" if bad else ""))


def shot(driver, name):
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 900)")
    driver.set_window_size(1440, min(height + 40, 6000))
    time.sleep(0.3)
    path = os.path.join(ART, f"{name}.png")
    driver.save_screenshot(path)
    driver.set_window_size(1440, 1000)
    log(f"screenshot {path}")


def text(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def main():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000", "--disable-gpu"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=opts)
    driver.set_script_timeout(30)
    try:
        run(driver)
    finally:
        with open(os.path.join(ART, "console.json"), "w") as f:
            json.dump(console_log, f, indent=1)
        driver.quit()


def sign_in(driver, token):
    box = WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, "token-input"))
    box.clear()
    box.send_keys(token)
    driver.find_element(By.ID, "token-submit").click()


def run(driver):
    # Views redraw parts of themselves several times a second: a vanished element is retried.
    wait = WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException])

    # --- Token entry: 401, 403, then an engineer token.
    driver.get(URL + "/")
    check(driver.title == "VerTac", "the dashboard is served at /")
    sign_in(driver, "vt_not_a_token")
    msg = wait.until(lambda d: d.find_element(By.ID, "token-message").text if "401" in d.find_element(By.ID, "token-message").text else None)
    check("not recognise" in msg, f"a wrong token is refused with a 401 message: {msg!r}")
    shot(driver, "0-token-401")
    sign_in(driver, INGEST)
    msg = wait.until(lambda d: d.find_element(By.ID, "token-message").text if "403" in d.find_element(By.ID, "token-message").text else None)
    check("engineer scope" in msg, f"an ingest token is refused with a 403 message: {msg!r}")
    console(driver, "token entry", allowed=("status of 401", "status of 403"))
    sign_in(driver, ENGINEER)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".stream-card"))
    check(driver.execute_script("return localStorage.getItem('vertac.token')") == ENGINEER, "the token is kept in the browser")

    pump = wait_for(lambda: next((s for s in get("/api/v1/streams")["streams"] if s["device_name"] == PUMP), None), what="the pump stream")
    fast = wait_for(lambda: next((s for s in get("/api/v1/streams")["streams"] if len(s["sensors"]) == FAST_SENSORS and not s["scored"]), None),
                    what="the fast stream")

    # --- Stream, live (pump: scored, with scores against thresholds).
    driver.get(f"{URL}/#/stream/{pump['id']}")
    wait.until(lambda d: int(d.find_element(By.ID, "view").get_attribute("data-frames") or 0) > 2)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#scores .bar"))
    bars = driver.find_elements(By.CSS_SELECTOR, "#scores .bar")
    check(len(bars) == 8, f"pump live view: a score bar per sensor ({len(bars)})")
    rows = driver.find_elements(By.CSS_SELECTOR, "#sensor-table tbody tr")
    check(len(rows) == 8, f"pump live view: a table row per sensor ({len(rows)})")
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#cycle-status [data-field=samples]").text not in ("", "—"))
    time.sleep(1.5)
    status = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#cycle-status").text)
    check("ACTIVE" in status or "STOPPING" in status or "STOPPED" in status, f"pump live view: cycle status shown ({status.splitlines()[:4]})")
    shot(driver, "2-stream-live-pump")
    console(driver, "stream live (pump)")

    # --- Stream, live: 10 sensors at 1 kHz, at least 10 updates a second.
    driver.get(f"{URL}/#/stream/{fast['id']}")
    opened = time.time()
    wait.until(lambda d: int(d.find_element(By.ID, "view").get_attribute("data-frames") or 0) > 5)
    # The chart starts with the stored last seconds, not empty: far more than the ~100 buckets a
    # second that live pushes alone would have brought since the page opened.
    held = float(driver.find_element(By.ID, "view").get_attribute("data-span") or 0)
    check(held > (time.time() - opened) + 5, f"live view: opens with the last seconds already drawn ({held:.1f} s of signal held)")
    for span in ("5", "30", "10"):
        driver.find_element(By.CSS_SELECTOR, f"#span button[data-span='{span}']").click()
        time.sleep(0.3)
    f0, t0 = int(driver.find_element(By.ID, "view").get_attribute("data-frames")), time.time()
    time.sleep(5)
    f1, t1 = int(driver.find_element(By.ID, "view").get_attribute("data-frames")), time.time()
    ups = (f1 - f0) / (t1 - t0)
    rate = float(driver.find_element(By.ID, "view").get_attribute("data-rate") or 0)
    log(f"fast stream: {ups:.1f} chart updates/s, {rate:.0f} rows/s shown")
    check(ups >= 10, f"live view: at least 10 updates/s with {FAST_SENSORS} sensors at 1 kHz (measured {ups:.1f}/s)")
    check(800 <= rate <= 1200, f"live view: the rate shown is the stream's ~1,000 rows/s ({rate:.0f})")
    rows = driver.find_elements(By.CSS_SELECTOR, "#sensor-table tbody tr")
    check(len(rows) == FAST_SENSORS, f"live view: {FAST_SENSORS} sensor rows with statistics")
    cur = rows[0].find_elements(By.CSS_SELECTOR, "td")[2].text if rows else ""
    check(cur not in ("", "—"), f"live view: current value shown ({cur!r})")
    shot(driver, "2-stream-live-1khz")
    console(driver, "stream live (1 kHz)")

    # --- Fleet, live: while the faulty pump cycles run, a sensor turns WARNING/CRITICAL on the open page.
    driver.get(URL + "/#/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f".stream-card[data-stream='{pump['id']}']"))
    loads = driver.execute_script("return performance.getEntriesByType('navigation').length")

    def alarmed(d):
        tiles = d.find_elements(By.CSS_SELECTOR, f".stream-card[data-stream='{pump['id']}'] .sensor")
        hit = [(t.get_attribute("data-sensor"), t.get_attribute("data-state")) for t in tiles
               if t.get_attribute("data-state") in ("WARNING", "CRITICAL")]
        return hit or None
    hit = WebDriverWait(driver, 120, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]).until(alarmed)
    api_states = {x["name"]: x["state"] for x in get(f"/api/v1/streams/{pump['id']}")["sensors"]}
    log(f"fleet live: {hit} (API: {[(k, v) for k, v in api_states.items() if v != 'NORMAL']})")
    check(driver.execute_script("return performance.getEntriesByType('navigation').length") == loads,
          "fleet: the state change arrived without reloading the page")
    transitions = get(f"/api/v1/streams/{pump['id']}/transitions?limit=200")["transitions"]
    check(any(t["sensor"] == hit[0][0] and t["to"] == hit[0][1] for t in transitions),
          f"fleet: {hit[0][0]} {hit[0][1]} on the page is a transition the API recorded")
    shot(driver, "1-fleet-live")
    console(driver, "fleet (live)")

    # --- Wait for the pump's cycles: finished reports, an aborted one.
    def cycles():
        return get(f"/api/v1/streams/{pump['id']}/cycles")["cycles"]
    wait_for(lambda: any(c["state"] == "ABORTED" and c["health_score"] is not None for c in cycles()), timeout=120,
             what="the aborted cycle's report")
    finished = [c for c in cycles() if c["state"] == "STOPPED" and c["health_score"] is not None]
    check(len(finished) >= 3, f"pump: {len(finished)} finished cycles with reports")

    # --- Fleet. The page redraws its cards every few seconds: read each card in one go.
    driver.get(URL + "/#/")
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f".stream-card[data-stream='{pump['id']}']"))
    time.sleep(1)

    def snapshot(stream_id):
        return driver.execute_script("""
            const c = document.querySelector(`.stream-card[data-stream='${arguments[0]}']`);
            if (!c) return null;
            return {text: c.innerText, health: c.querySelector('.health').innerText,
                    states: Object.fromEntries([...c.querySelectorAll('.sensor')].map(e => [e.dataset.sensor, e.dataset.state]))};""",
            stream_id)
    api_states = {s["name"]: s["state"] for s in get(f"/api/v1/streams/{pump['id']}")["sensors"]}
    card = snapshot(pump["id"])
    check(card["states"] == api_states, f"fleet: the pump's sensor states match the API ({card['states']})")
    check(all(st in card["text"] for st in set(api_states.values())), "fleet: states shown as text too")
    open_events = [e for e in get(f"/api/v1/events?stream_id={pump['id']}")["events"] if e["status"] != "RESOLVED"]
    check(len(open_events) > 0 and (open_events[0]["sensor"] in card["text"]), f"fleet: the pump's open events listed ({len(open_events)})")
    health = get(f"/api/v1/streams/{pump['id']}")["last_cycle_health"]
    check(health is not None and card["health"] == f"{health:.3g}",
          f"fleet: the last cycle's health shown ({health} → {card['health']!r})")
    check("UNSCORED" in snapshot(fast["id"])["text"], "fleet: an unscored stream says so")
    shot(driver, "1-fleet-after")
    console(driver, "fleet")

    # --- Cycle report: a faulty finished cycle, with its charts; label it; export its CSV.
    worst = min(finished, key=lambda c: c["health_score"])
    driver.get(f"{URL}/#/cycle/{worst['id']}")
    wait.until(lambda d: d.find_element(By.ID, "view").get_attribute("data-charts") == "ready")
    for el_id in ("waveforms", "heatmap", "contributions", "health"):
        check(len(driver.find_elements(By.ID, el_id)) == 1, f"cycle report: {el_id} present")
    painted = driver.execute_script("""
        const c = document.getElementById('waveforms'); const x = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < x.length; i += 4) if (x[i] > 0) n++; return n / (x.length / 4);""")
    check(painted > 0.2, f"cycle report: the waveform canvas is drawn ({painted:.0%} of pixels)")
    detail = get(f"/api/v1/cycles/{worst['id']}")
    top = detail["report"]["sensors"][0]["sensor"]
    first_bar = driver.find_element(By.CSS_SELECTOR, "#contributions .bar").get_attribute("data-sensor")
    check(first_bar == top, f"cycle report: contributions ranked as the report ({first_bar} first)")
    check(f"{detail['report']['healthScore']:.1f}" in text(driver, "#health"), "cycle report: gauge shows the health score")
    Select(driver.find_element(By.ID, "label-select")).select_by_value("anomalous")
    driver.find_element(By.ID, "label-save").click()
    wait.until(lambda d: "Labelled" in d.find_element(By.ID, "label-message").text)
    check(get(f"/api/v1/cycles/{worst['id']}")["cycle"]["label"] == "anomalous", "cycle report: a label set on the page is in the API")
    driver.find_element(By.ID, "export-csv").click()
    msg = wait.until(lambda d: d.find_element(By.ID, "export-message").text if "Saved" in d.find_element(By.ID, "export-message").text else None)
    size = int("".join(ch for ch in msg.split("(")[1] if ch.isdigit()))
    check(size > 1000, f"cycle report: CSV exported from the page ({msg})")
    shot(driver, "3-cycle-report")
    console(driver, "cycle report")

    aborted = next(c for c in cycles() if c["state"] == "ABORTED")
    driver.get(f"{URL}/#/cycle/{aborted['id']}")
    wait.until(lambda d: d.find_element(By.ID, "view").get_attribute("data-charts") in ("ready", "unavailable"))
    check(len(driver.find_elements(By.ID, "stop-cause")) == 1, f"aborted cycle: stop-cause hypothesis shown ({text(driver, '#stop-cause') if driver.find_elements(By.ID, 'stop-cause') else ''})")
    check(len(driver.find_elements(By.ID, "last-rows")) == 1, "aborted cycle: the last seconds before the stop are charted")
    shot(driver, "3-cycle-report-aborted")
    console(driver, "aborted cycle report")

    # --- Events: acknowledge one through the page, resolve another.
    driver.get(URL + "/#/events")
    Select(wait.until(lambda d: d.find_element(By.ID, "stream-filter"))).select_by_value(pump["id"])
    driver.find_element(By.CSS_SELECTOR, "#status-filter button[data-status='OPEN']").click()
    def first_open(d):
        # The list is drawn again whenever an event is pushed: read the id without holding the row.
        try:
            rows = d.find_elements(By.CSS_SELECTOR, "#events-body tr[data-status='OPEN']")
            return rows[0].get_attribute("data-event") if rows else None
        except StaleElementReferenceException:
            return None
    event_id = wait.until(first_open)
    # Once the note field has the focus, pushed events no longer redraw the list under the engineer.
    for _ in range(20):
        try:
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"#events-body tr[data-event='{event_id}'] input.note")).click()
            break
        except StaleElementReferenceException:
            time.sleep(0.1)
    note = driver.find_element(By.CSS_SELECTOR, f"#events-body tr[data-event='{event_id}'] input.note")
    note.send_keys("checking the pressure line")
    driver.find_element(By.CSS_SELECTOR, f"#events-body tr[data-event='{event_id}'] button[data-action='acknowledge']").click()
    wait_for(lambda: get("/api/v1/events")["events"] and next(e for e in get("/api/v1/events")["events"] if e["id"] == event_id)["status"] == "ACKNOWLEDGED",
             timeout=10, what="the acknowledgement in the API")
    ev = next(e for e in get("/api/v1/events")["events"] if e["id"] == event_id)
    check(ev["status"] == "ACKNOWLEDGED" and ev.get("note") == "checking the pressure line",
          f"events: acknowledged through the page, acknowledged in the API with its note ({ev['status']}, {ev.get('note')!r})")
    driver.find_element(By.CSS_SELECTOR, "#status-filter button[data-status='ACKNOWLEDGED']").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#events-body tr[data-event='{event_id}'][data-status='ACKNOWLEDGED']"))
    time.sleep(1.5)  # the page reloads its list after an action; let it settle
    shot(driver, "4-events-acknowledged")

    def in_row(css):
        return driver.find_element(By.CSS_SELECTOR, f"#events-body tr[data-event='{event_id}'] {css}")
    # A note added from the page joins the event's history, under the acknowledgement's.
    in_row("input.add-note").send_keys("valve ordered")
    in_row("button[data-action='note']").click()
    wait_for(lambda: len(next(e for e in get("/api/v1/events")["events"] if e["id"] == event_id).get("notes", [])) == 2, timeout=10,
             what="the added note in the API")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, f"#events-body tr[data-event='{event_id}'] ol.notes li")) == 2)
    notes = [li.text for li in driver.find_elements(By.CSS_SELECTOR, f"#events-body tr[data-event='{event_id}'] ol.notes li")]
    check("checking the pressure line" in notes[0] and "valve ordered" in notes[1], f"events: the note history is shown ({notes})")
    time.sleep(1.0)
    Select(in_row("select.resolution")).select_by_value("false_positive")
    in_row("input.resolve-note").send_keys("sensor recalibrated")
    in_row("button[data-action='resolve']").click()
    wait_for(lambda: next(e for e in get("/api/v1/events")["events"] if e["id"] == event_id)["status"] == "RESOLVED", timeout=10,
             what="the resolution in the API")
    ev = next(e for e in get("/api/v1/events")["events"] if e["id"] == event_id)
    check(ev["resolution"] == "false_positive", f"events: resolved through the page as {ev['resolution']}")
    driver.find_element(By.CSS_SELECTOR, "#status-filter button[data-status='RESOLVED']").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#events-body tr[data-event='{event_id}']"))
    shot(driver, "4-events-resolved")
    console(driver, "events")

    # --- A maintenance window from the stream page: every sensor SUPPRESSED, in the API and the fleet.
    driver.get(f"{URL}/#/stream/{pump['id']}")
    button = wait.until(lambda d: d.find_element(By.ID, "maintenance") if d.find_element(By.ID, "maintenance").is_displayed() else None)
    check(button.text == "Start maintenance window", f"stream: maintenance window offered ({button.text!r})")
    # The simulated pump may have finished its cycles: a silent stream's sensors are STALE before
    # the window and go back to STALE (not NORMAL) when it ends.
    before = {s["state"] for s in get(f"/api/v1/streams/{pump['id']}")["sensors"]}
    after_expected = {"STALE"} if before == {"STALE"} else {"NORMAL"}
    button.click()
    wait.until(lambda d: "started" in d.find_element(By.ID, "maintenance-message").text)
    states = {s["state"] for s in get(f"/api/v1/streams/{pump['id']}")["sensors"]}
    check(states == {"SUPPRESSED"}, f"maintenance started on the page: every sensor SUPPRESSED in the API ({states})")
    driver.get(URL + "/#/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f".stream-card[data-stream='{pump['id']}'] .sensor[data-state='SUPPRESSED']"))
    card = snapshot(pump["id"])
    check(set(card["states"].values()) == {"SUPPRESSED"} and "SUPPRESSED" in card["text"], "fleet: suppressed sensors shown as such")
    shot(driver, "1-fleet-maintenance")
    driver.get(f"{URL}/#/stream/{pump['id']}")
    button = wait.until(lambda d: d.find_element(By.ID, "maintenance") if d.find_element(By.ID, "maintenance").text.startswith("End") else None)
    button.click()
    wait.until(lambda d: "ended" in d.find_element(By.ID, "maintenance-message").text)
    states = {s["state"] for s in get(f"/api/v1/streams/{pump['id']}")["sensors"]}
    check(states == after_expected, f"maintenance ended on the page: sensors back to {after_expected} as before it ({states})")
    console(driver, "maintenance window")

    # --- Models: as an engineer, activation is refused (403 shown); as admin, activate for one stream and roll back.
    driver.get(URL + "/#/models")
    card = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".model[data-active='true']"))
    check(len(card.find_elements(By.CSS_SELECTOR, "svg path")) >= 2, "models: the loss curve is drawn")
    model_id = card.get_attribute("data-model")
    Select(card.find_element(By.CSS_SELECTOR, "select.activate-stream")).select_by_value(pump["id"])
    card.find_element(By.CSS_SELECTOR, "button[data-action='activate']").click()
    msg = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f".model[data-model='{model_id}'] .msg").text or None)
    check("403" in msg and "admin" in msg, f"models: an engineer sees why activation is refused ({msg!r})")
    console(driver, "models (engineer)", allowed=("status of 403",))
    driver.execute_script("localStorage.setItem('vertac.token', arguments[0])", ADMIN)
    driver.get(URL + "/#/models")
    driver.refresh()
    card = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f".model[data-model='{model_id}']"))
    Select(card.find_element(By.CSS_SELECTOR, "select.activate-stream")).select_by_value(pump["id"])
    card.find_element(By.CSS_SELECTOR, "button[data-action='activate']").click()
    wait.until(lambda d: "active" in d.find_element(By.CSS_SELECTOR, f".model[data-model='{model_id}'] .msg").text)
    scoring = get(f"/api/v1/streams/{pump['id']}")["scoring"]
    check("assigned to this stream" in scoring, f"models: activated for the pump stream through the page ({scoring!r})")
    # The page reloads its lists after an action: the stream's row then offers a roll back.
    btn = WebDriverWait(driver, 10, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f"#stream-models tr[data-stream='{pump['id']}'] button"))
    check("activated for this stream" in text(driver, f"#stream-models tr[data-stream='{pump['id']}']"),
          "models: the page shows the stream's own model")
    shot(driver, "5-models")
    if check(btn.text.startswith("Roll back"), "models: roll back offered for a stream with its own model"):
        btn.click()
        wait_for(lambda: "assigned" not in get(f"/api/v1/streams/{pump['id']}")["scoring"], timeout=10, what="the rollback")
        check(True, "models: rolled back for the stream through the page")
    console(driver, "models (admin)")

    # --- A lost connection: the banner says so, and the page reconnects by itself.
    driver.get(URL + "/#/")
    wait.until(lambda d: d.find_element(By.ID, "connection").text == "live")
    pid_file = os.environ.get("VERTAC_SERVER_PID")
    cmd = json.loads(os.environ.get("VERTAC_SERVER_CMD", "null") or "null")
    if pid_file and cmd:
        pid = int(open(pid_file).read().strip())
        os.kill(pid, signal.SIGTERM)
        stopping = time.time()
        banner = wait.until(lambda d: d.find_element(By.ID, "banner").text if "reconnecting" in d.find_element(By.ID, "banner").text else None)
        check("Connection to the server lost" in banner, f"a lost connection is announced: {banner!r}")
        shot(driver, "6-connection-lost")
        # The old server finishes what it acknowledged before it exits; the new one starts after
        # it (it would wait up to 15 s for the data directory, then refuse). How long it took is
        # printed: a clean stop here takes 1–2 s.
        while time.time() - stopping < 60:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        print(f"[browser] the old server stopped {time.time() - stopping:.1f} s after SIGTERM", flush=True)
        check(time.time() - stopping < 60, "the old server stopped within 60 s of SIGTERM")
        with open(os.path.join(ART, "server-restart.log"), "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        with open(pid_file, "w") as f:
            f.write(str(proc.pid))
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "connection").text == "live")
        check(True, "the page reconnected by itself after the server came back")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".stream-card"))
        console(driver, "reconnection", allowed=("WebSocket connection", "ERR_CONNECTION_REFUSED", "Failed to fetch", "status of 503"))
    else:
        check(False, "reconnection step needs VERTAC_SERVER_PID and VERTAC_SERVER_CMD")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 — reported as a failure with its cause
        import traceback
        traceback.print_exc()
        failures.append(f"exception: {e}")
    if failures:
        log(f"{len(failures)} check(s) failed:")
        for f in failures:
            log(f"  - {f}")
        sys.exit(1)
    log("all browser checks passed")
