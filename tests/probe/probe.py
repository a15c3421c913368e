#!/usr/bin/env python3
"""Abuse probes against a real `vertac-serve` process (the security review's findings, replayed).

Started by `scripts/probe.sh`, which builds the release binary and passes its path. This script
starts the server itself (on a free port, a fresh data directory, the shipped model, TMPDIR
pointing into the work directory and a soft fd limit of 1024 like a default systemd unit),
creates the tokens it needs, runs every probe and stops the server. If a probe kills or hangs the
server, that probe fails and the server is restarted on the same data so that the later probes
still say something. Tokens: the admin token is the one the first start writes to
DATA-DIR/admin.token; engineer and ingest tokens are made with `vertac-serve token create` once
the server runs (made before the first start, they would keep it from creating the admin token).

Output on stdout: one line per probe, `PASS name` or `FAIL name: reason`, then exactly
`N passed, M failed` alone on a line; exit status 1 when anything failed. Details of what was
observed go to stderr (indented). Python 3 standard library only; every byte goes to 127.0.0.1.

After every probe the runner checks that the server process is alive and that `GET /api/health`
answers 200 on a new connection within 5 s.

    python3 tests/probe/probe.py --bin .build/release/vertac-serve --model models/pump-default.h5 \
        --work /tmp/somewhere [--only p4,p6.security_headers]

Probe 9 of the review (a full disk) is not replayed here: filling a disk needs a mounted
size-limited file system (root, loop devices or tmpfs quotas) that CI machines do not all allow;
the server's answer to SQLITE_FULL / ENOSPC (507 with nothing stored) is tested in Swift.
"""

import argparse
import base64
import json
import math
import os
import random
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from glob import glob

HOST = "127.0.0.1"
HEALTH_TIMEOUT = 5.0


def detail(msg):
    print("    " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Raw HTTP: every request on a new connection, sent while reading (so that a server that answers
# 413 early and closes is seen answering, not as a broken pipe).


class Resp:
    def __init__(self, status=None, headers=None, body=b"", elapsed=0.0, error=None, raw_head=""):
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.elapsed = elapsed
        self.error = error
        self.raw_head = raw_head

    def header(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception:
            return None

    def short(self):
        if self.status is None:
            return "no answer (%s)" % (self.error or "?")
        b = self.body[:160].decode("utf-8", "replace").replace("\n", " ")
        return "%d %s" % (self.status, b)


def parse_http(buf, eof):
    """A complete response from `buf` (bytes), or None while more is needed."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None
    head = buf[:i].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        return Resp(status=None, error="unparsable status line %r" % lines[0][:80], raw_head=head)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    rest = bytes(buf[i + 4:])
    if status == 101 or status == 204 or status == 304:
        return Resp(status, headers, b"", raw_head=head)
    if "content-length" in headers:
        n = int(headers["content-length"][0])
        if len(rest) >= n:
            return Resp(status, headers, rest[:n], raw_head=head)
        return Resp(status, headers, rest, error="body cut short", raw_head=head) if eof else None
    if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        body, pos = bytearray(), 0
        while True:
            j = rest.find(b"\r\n", pos)
            if j < 0:
                break
            try:
                size = int(rest[pos:j].split(b";")[0], 16)
            except ValueError:
                return Resp(status, headers, bytes(body), error="bad chunk", raw_head=head)
            if size == 0:
                return Resp(status, headers, bytes(body), raw_head=head)
            if len(rest) < j + 2 + size + 2:
                break
            body += rest[j + 2:j + 2 + size]
            pos = j + 2 + size + 2
        return Resp(status, headers, bytes(body), error="body cut short", raw_head=head) if eof else None
    return Resp(status, headers, rest, raw_head=head) if eof else None


def exchange(sock, payload, timeout, done):
    """Sends `payload` while reading until `done(buf, eof)` or the timeout.

    Returns (buf, eof, sent, send_error, timed_out)."""
    sock.setblocking(False)
    view = memoryview(payload)
    sent, buf, eof, send_err = 0, bytearray(), False, None
    deadline = time.monotonic() + timeout
    poller = select.poll()
    timed_out = False
    while True:
        if done(buf, eof) or eof:
            break
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        want_send = sent < len(view) and send_err is None
        poller.register(sock, select.POLLIN | (select.POLLOUT if want_send else 0))
        events = poller.poll(max(1, int(min(0.5, deadline - now) * 1000)))
        poller.unregister(sock)
        for _, ev in events:
            if ev & (select.POLLIN | select.POLLHUP | select.POLLERR):
                try:
                    chunk = sock.recv(1 << 20)
                    if chunk:
                        buf += chunk
                    else:
                        eof = True
                except BlockingIOError:
                    pass
                except OSError:
                    eof = True
            if want_send and ev & select.POLLOUT and not eof:
                try:
                    sent += sock.send(view[sent:sent + (1 << 20)])
                except BlockingIOError:
                    pass
                except OSError as e:
                    send_err = e
    return buf, eof, sent, send_err, timed_out


class Client:
    def __init__(self, port):
        self.port = port

    def connect(self, timeout=5.0, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect((HOST, self.port))
        return s

    def raw(self, data, timeout=10.0):
        """Sends raw bytes, returns the parsed response (status None when none came)."""
        t0 = time.monotonic()
        try:
            s = self.connect(timeout=min(timeout, 5.0))
        except OSError as e:
            return Resp(error="connect: %s" % e, elapsed=time.monotonic() - t0)
        try:
            buf, eof, sent, send_err, timed_out = exchange(s, data, timeout, lambda b, e: parse_http(b, e) is not None)
        finally:
            s.close()
        r = parse_http(buf, True) if buf else None
        if r is None:
            why = "timed out after %.1f s" % timeout if timed_out else "connection closed without an answer"
            if send_err:
                why += " (send: %s)" % send_err
            r = Resp(error=why)
        r.elapsed = time.monotonic() - t0
        r.sent = sent
        return r

    def request(self, method, path, body=None, token=None, headers=None, timeout=10.0, content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n" % (method, path, HOST, self.port)
        if token:
            head += "Authorization: Bearer %s\r\n" % token
        if body is not None:
            head += "Content-Type: %s\r\nContent-Length: %d\r\n" % (content_type, len(body))
        for k, v in (headers or {}).items():
            head += "%s: %s\r\n" % (k, v)
        return self.raw(head.encode("latin-1") + b"\r\n" + (body or b""), timeout=timeout)

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token=token, **kw)

    def post(self, path, body=None, token=None, **kw):
        return self.request("POST", path, body=body if body is not None else b"", token=token, **kw)


def error_shape(r, statuses):
    """None when `r` is one of `statuses` with a `{"error":{"code","message"}}` body, else why not."""
    if r.status is None:
        return "no answer: %s" % r.error
    if r.status not in statuses:
        return "status %d (expected %s): %s" % (r.status, "/".join(map(str, sorted(statuses))), r.short())
    j = r.json()
    if not isinstance(j, dict) or not isinstance(j.get("error"), dict):
        return "status %d but the body is not {\"error\":{...}}: %r" % (r.status, r.body[:120])
    e = j["error"]
    if not isinstance(e.get("code"), str) or not e["code"] or not isinstance(e.get("message"), str):
        return "status %d but error lacks code/message: %r" % (r.status, r.body[:120])
    ct = (r.header("content-type") or "").lower()
    if "json" not in ct:
        return "status %d JSON body but Content-Type %r" % (r.status, ct)
    return None


# ---------------------------------------------------------------------------------------------
# WebSocket client on raw sockets (RFC 6455, client frames masked).


def ws_frame(opcode, payload, fin=True, mask=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    if n == 0:
        return head + key
    reps = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(reps, "big")).to_bytes(n, "big")
    return head + key + masked


class FrameReader:
    """Incremental frame parser; keeps only headers and small payloads unless `keep` is set."""

    def __init__(self, keep=True):
        self.buf = bytearray()
        self.keep = keep
        self.frames = []  # (opcode, payload or None, length)
        self.close_code = None
        self.close_reason = ""
        self.skip = 0
        self.skipping_opcode = None

    def feed(self, data):
        if self.skip:
            take = min(self.skip, len(data))
            self.skip -= take
            data = data[take:]
        self.buf += data
        out = []
        while True:
            b = self.buf
            if len(b) < 2:
                break
            opcode = b[0] & 0x0F
            masked = b[1] & 0x80
            n = b[1] & 0x7F
            pos = 2
            if n == 126:
                if len(b) < 4:
                    break
                n = struct.unpack("!H", b[2:4])[0]
                pos = 4
            elif n == 127:
                if len(b) < 10:
                    break
                n = struct.unpack("!Q", b[2:10])[0]
                pos = 10
            if masked:
                pos += 4
            if not self.keep and opcode in (0, 1, 2) and len(b) >= pos:
                # Skip the payload without buffering it.
                have = len(b) - pos
                if have >= n:
                    del self.buf[:pos + n]
                else:
                    self.skip = n - have
                    del self.buf[:]
                out.append((opcode, None, n))
                if self.skip:
                    break
                continue
            if len(b) < pos + n:
                break
            payload = bytes(b[pos:pos + n])
            del self.buf[:pos + n]
            if opcode == 8:
                if len(payload) >= 2:
                    self.close_code = struct.unpack("!H", payload[:2])[0]
                    self.close_reason = payload[2:].decode("utf-8", "replace")
                else:
                    self.close_code = 1005
            out.append((opcode, payload, n))
        self.frames += out
        return out


class WS:
    def __init__(self, sock, leftover):
        self.sock = sock
        self.reader = FrameReader()
        self.closed = False  # the TCP connection ended
        if leftover:
            self.reader.feed(leftover)

    def send(self, payload, opcode=1):
        if isinstance(payload, str):
            payload = payload.encode()
        self.sock.setblocking(True)
        self.sock.settimeout(10)
        self.sock.sendall(ws_frame(opcode, payload))

    def pump(self, timeout):
        """Reads what is there for up to `timeout` s; returns the frames read."""
        self.sock.setblocking(False)
        deadline = time.monotonic() + timeout
        got = []
        while not self.closed:
            now = time.monotonic()
            if now >= deadline:
                break
            p = select.poll()
            p.register(self.sock, select.POLLIN)
            if not p.poll(max(1, int((deadline - now) * 1000))):
                break
            try:
                chunk = self.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            got += self.reader.feed(chunk)
        return got

    def next_text(self, timeout):
        """The next text message (str), or None on timeout/close."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (op, payload, _) in enumerate(self.reader.frames):
                if op == 1:
                    del self.reader.frames[:i + 1]
                    return payload.decode("utf-8", "replace")
                if op == 8:
                    return None
            self.reader.frames = [f for f in self.reader.frames if f[0] not in (9, 10)]
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.pump(min(left, 0.5))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def ws_open(client, path, token=None, query_token=True, header_token=False, rcvbuf=None, timeout=5.0):
    """Opens a WebSocket. Returns (WS, None) when upgraded, else (None, Resp) with the refusal."""
    if token and query_token:
        path += ("&" if "?" in path else "?") + "token=" + urllib.parse.quote(token)
    key = base64.b64encode(os.urandom(16)).decode()
    head = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, HOST, client.port, key))
    if token and header_token:
        head += "Authorization: Bearer %s\r\n" % token
    try:
        s = client.connect(timeout=timeout, rcvbuf=rcvbuf)
    except OSError as e:
        return None, Resp(error="connect: %s" % e)
    buf, eof, _, _, timed_out = exchange(s, (head + "\r\n").encode(), timeout,
                                         lambda b, e: parse_http(b, e) is not None)
    r = parse_http(buf, eof or timed_out) if buf else None
    if r is None:
        s.close()
        return None, Resp(error="timed out" if timed_out else "closed without an answer")
    if r.status == 101:
        i = bytes(buf).find(b"\r\n\r\n")
        return WS(s, bytes(buf[i + 4:])), r
    s.close()
    return None, r


# ---------------------------------------------------------------------------------------------
# The server under test.


class Server:
    def __init__(self, args):
        self.bin = os.path.abspath(args.bin)
        self.model = os.path.abspath(args.model)
        self.work = os.path.abspath(args.work)
        self.data = os.path.join(self.work, "data")  # created by the server itself
        self.tmp = os.path.join(self.work, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.log_path = os.path.join(self.work, "server.log")
        self.pid_file = os.path.join(self.work, "server.pid")
        self.nofile = args.server_nofile
        self.port = free_port()
        self.proc = None
        self.deaths = []

    def start(self):
        env = dict(os.environ)
        env["TMPDIR"] = self.tmp
        log = open(self.log_path, "ab")
        log.write(b"\n==== start %s\n" % time.strftime("%H:%M:%S").encode())
        log.flush()
        nofile = self.nofile

        def limits():
            if nofile:
                soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))

        self.proc = subprocess.Popen(
            [self.bin, "--port", str(self.port), "--data-dir", self.data, "--model", self.model],
            stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=limits, cwd=self.work)
        log.close()
        with open(self.pid_file, "w") as f:
            f.write(str(self.proc.pid))
        c = Client(self.port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vertac-serve exited at start (%s); log:\n%s" % (self.exit_text(), self.log_tail()))
            r = c.get("/api/health", timeout=2)
            if r.status == 200:
                return
            time.sleep(0.1)
        raise RuntimeError("vertac-serve did not answer /api/health within 60 s; log:\n" + self.log_tail())

    def exit_text(self):
        rc = self.proc.returncode if self.proc else None
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return "killed by %s" % signal.Signals(-rc).name
            except ValueError:
                return "killed by signal %d" % -rc
        return "exit status %d" % rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_mb(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            return None
        return None

    def log_tail(self, n=12):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            detail("server did not stop within 15 s of SIGTERM; killing it")
            self.proc.kill()
            self.proc.wait()

    def restart(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self.start()

    def token(self, scope, name):
        out = subprocess.run([self.bin, "token", "create", "--scope", scope, "--name", name, "--data-dir", self.data],
                             capture_output=True, text=True, timeout=60, cwd=self.work)
        if out.returncode != 0:
            raise RuntimeError("token create failed: " + out.stderr)
        return out.stdout.strip().splitlines()[-1].strip()


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------------------------
# Probes


class Failed(Exception):
    pass


class Suite:
    def __init__(self, args):
        self.args = args
        self.server = Server(args)
        self.results = []
        self.only = [x.strip() for x in (args.only or "").split(",") if x.strip()]
        self.t_base = time.time() - 3600.0  # every stream's rows start an hour ago, going forward

    @property
    def c(self):
        return Client(self.server.port)

    # -- helpers ----------------------------------------------------------------------------

    def setup(self):
        self.server.start()
        with open(os.path.join(self.server.data, "admin.token")) as f:
            self.admin = f.read().strip()
        self.engineer = self.server.token("engineer", "probe-engineer")
        self.ingest = self.server.token("ingest", "probe-ingest")
        self.ingest_flood = self.server.token("ingest", "probe-ws-flood")
        self.ingest_load = self.server.token("ingest", "probe-load")
        r = self.c.get("/api/v1/models", token=self.admin)
        models = (r.json() or {}).get("models") or []
        active = [m for m in models if m.get("active")] or models
        if not active:
            raise RuntimeError("the server lists no model: %s" % r.short())
        self.model_sensors = active[0]["sensors"]
        self.model_window = active[0].get("window", 30)
        detail("server pid %d on port %d; model sensors %s, window %s"
               % (self.server.proc.pid, self.server.port, ",".join(self.model_sensors), self.model_window))

    def register(self, device, sensors, token=None):
        body = {"device_name": device,
                "sensors": [{"sensor_id": "id-" + s, "name": s, "type": "probe", "unit": "u"} for s in sensors]}
        r = self.c.post("/api/live/register", body, token=token or self.ingest)
        j = r.json() or {}
        if r.status not in (200, 201) or "stream_id" not in j:
            raise Failed("register %s: %s" % (device, r.short()))
        return j["stream_id"]

    def batch(self, stream, rows, batch_id=None, token=None, raw=None):
        if raw is None:
            body = {"stream_id": stream, "rows": [{"timestamp": t, "values": v} for t, v in rows]}
            if batch_id is not None:
                body["batch_id"] = batch_id
            raw = json.dumps(body)
        return self.c.post("/api/live/batch", raw, token=token or self.ingest)

    def status(self, stream):
        r = self.c.get("/api/live/stream/%s/status" % stream, token=self.ingest)
        if r.status != 200:
            raise Failed("GET status of %s: %s" % (stream, r.short()))
        return r.json()

    def cycle(self, stream, what, body=None):
        return self.c.post("/api/live/cycle/%s?stream_id=%s" % (what, stream), body if body is not None else b"",
                           token=self.ingest)

    def health_ok(self):
        r = self.c.get("/api/health", timeout=HEALTH_TIMEOUT)
        return r.status == 200, r

    # -- runner -----------------------------------------------------------------------------

    def run(self, name, fn):
        if self.only and not any(name == o or name.startswith(o + ".") or name.startswith(o + "_") for o in self.only):
            return
        problems = []
        t0 = time.monotonic()
        try:
            out = fn()
            if out:
                problems += out if isinstance(out, list) else [out]
        except Failed as e:
            problems.append(str(e))
        except Exception as e:  # a bug in the probe or an unexpected answer
            problems.append("probe error: %s: %s" % (type(e).__name__, e))
            traceback.print_exc(file=sys.stderr)
        # After every probe: the process is alive and /api/health answers.
        if not self.server.alive():
            self.server.proc.wait()
            problems.append("server died (%s); log tail: %s"
                            % (self.server.exit_text(), self.server.log_tail(4).replace("\n", " | ")))
            detail("restarting the server after its death")
            self.server.deaths.append(name)
            self.server.start()
        else:
            ok, r = self.health_ok()
            if not ok:
                # A crashing Swift process spends seconds in its backtracer before it exits.
                try:
                    self.server.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass
                if self.server.alive():
                    problems.append("GET /api/health after the probe: %s (process alive but not answering)" % r.short())
                    detail("restarting the server: it is alive but /api/health does not answer")
                    self.server.deaths.append(name + " (hung)")
                    self.server.restart()
                else:
                    problems.append("server died (%s); log tail: %s"
                                    % (self.server.exit_text(), self.server.log_tail(4).replace("\n", " | ")))
                    self.server.deaths.append(name)
                    self.server.start()
        dt = time.monotonic() - t0
        if problems:
            line = "FAIL %s: %s" % (name, "; ".join(problems))
        else:
            line = "PASS %s" % name
        print(line, flush=True)
        detail("(%s took %.1f s)" % (name, dt))
        self.results.append((name, not problems))

    # -- 1: timestamps ------------------------------------------------------------------------

    def p1_timestamps(self):
        problems = []
        sid = self.register("probe-ts", ["a", "b"])
        t = self.t_base
        r = self.batch(sid, [(t, [1.0, 2.0])])
        if r.status != 200:
            return "first realistic batch refused: %s" % r.short()
        before = self.status(sid).get("last_sample_at")
        bad = [1e19, -1e19, 9.2e18, -9.2e18]
        for v in bad:
            for form in ("number", "string"):
                ts = v if form == "number" else repr(v)
                # rows form and samples form share the timestamp parser; send both.
                r1 = self.batch(sid, [(ts, [1.0, 2.0])])
                r2 = self.c.post("/api/live/batch", {"stream_id": sid, "samples": [
                    {"timestamp": ts, "sensor_name": "a", "value": 1.0}]}, token=self.ingest)
                for label, r in (("rows", r1), ("samples", r2)):
                    why = error_shape(r, {400})
                    if why:
                        problems.append("timestamp %r (%s, %s form): %s" % (ts, form, label, why))
        after = self.status(sid).get("last_sample_at")
        if after != before:
            problems.append("last_sample_at moved from %s to %s after rejected batches" % (before, after))
        r = self.batch(sid, [(t + 1.0, [1.5, 2.5])])
        if r.status != 200:
            problems.append("a realistic timestamp afterwards: %s (expected 200)" % r.short())
        for path, tok in (("/api/v1/streams", self.engineer), ("/api/v1/streams/" + sid, self.engineer),
                          ("/api/live/stream/%s/status" % sid, self.ingest)):
            r = self.c.get(path, token=tok)
            if r.status != 200 or r.json() is None:
                problems.append("GET %s afterwards: %s" % (path, r.short()))
        return problems

    # -- 2: huge and non-finite values --------------------------------------------------------

    def _rows(self, t0, n, D, dt=0.01, phase=0.0):
        return [(t0 + k * dt, [round(50 + 10 * math.sin(0.05 * k + j + phase), 4) for j in range(D)]) for k in range(n)]

    def _score_count(self, sid):
        r = self.c.get("/api/v1/streams/%s/scores" % sid, token=self.engineer)
        if r.status != 200:
            return None, r
        return len((r.json() or {}).get("points", [])), r

    def p2_nonfinite_rejected(self):
        problems = []
        S = self.model_sensors
        D = len(S)
        sid = self.register("probe-nonfinite", S)
        r = self.cycle(sid, "start")
        if r.status != 200:
            return "cycle start: %s" % r.short()
        t = self.t_base
        r = self.batch(sid, self._rows(t, 5, D))
        if r.status != 200:
            return "normal batch refused: %s" % r.short()
        st = self.status(sid)
        before = st.get("last_sample_at")
        cycle_id = st.get("cycle_id")
        rows_before = self._csv_rows(cycle_id)
        detail("cycle %s has %s rows before the refused batches" % (cycle_id, rows_before))
        t += 1.0
        zeros = ",".join(["1.0"] * (D - 1))
        cases = [
            ("1e39 (rows)", '{"stream_id":"%s","rows":[{"timestamp":%r,"values":[1e39,%s]}]}' % (sid, t, zeros)),
            ("-1e39 (rows)", '{"stream_id":"%s","rows":[{"timestamp":%r,"values":[-1e39,%s]}]}' % (sid, t, zeros)),
            ("NaN literal (rows)", '{"stream_id":"%s","rows":[{"timestamp":%r,"values":[NaN,%s]}]}' % (sid, t, zeros)),
            ("Infinity literal (rows)", '{"stream_id":"%s","rows":[{"timestamp":%r,"values":[Infinity,%s]}]}' % (sid, t, zeros)),
            ('"Infinity" string (rows)', '{"stream_id":"%s","rows":[{"timestamp":%r,"values":["Infinity",%s]}]}' % (sid, t, zeros)),
            ('"NaN" string (rows)', '{"stream_id":"%s","rows":[{"timestamp":%r,"values":["NaN",%s]}]}' % (sid, t, zeros)),
            ("1e39 (samples)", '{"stream_id":"%s","samples":[{"timestamp":%r,"sensor_name":"%s","value":1e39}]}' % (sid, t, S[0])),
            ("NaN literal (samples)", '{"stream_id":"%s","samples":[{"timestamp":%r,"sensor_name":"%s","value":NaN}]}' % (sid, t, S[0])),
            ('"Infinity" string (samples)', '{"stream_id":"%s","samples":[{"timestamp":%r,"sensor_name":"%s","value":"Infinity"}]}' % (sid, t, S[0])),
        ]
        for label, raw in cases:
            r = self.batch(sid, None, raw=raw)
            why = error_shape(r, {400})
            if why:
                problems.append("%s: %s" % (label, why))
        after = self.status(sid).get("last_sample_at")
        if after != before:
            problems.append("last_sample_at moved from %s to %s after rejected batches" % (before, after))
        rows_after = self._csv_rows(cycle_id)
        if rows_after != rows_before:
            problems.append("the cycle's samples.csv went from %s to %s rows after rejected batches" % (rows_before, rows_after))
        self.cycle(sid, "stop")
        return problems

    def _csv_rows(self, cycle_id):
        if not cycle_id:
            return None
        r = self.c.get("/api/v1/cycles/%s/samples.csv" % cycle_id, token=self.engineer)
        if r.status != 200:
            raise Failed("GET samples.csv of cycle %s: %s" % (cycle_id, r.short()))
        return max(0, len(r.body.decode("utf-8", "replace").strip().splitlines()) - 1)

    def p2_huge_value_scoring(self):
        """3.4e38 in a scored stream inside an active cycle while another stream is scored."""
        problems = []
        S = self.model_sensors
        D = len(S)
        a = self.register("probe-huge-a", S)
        b = self.register("probe-huge-b", S)
        for sid in (a, b):
            r = self.cycle(sid, "start", {"metadata": {"probe": "huge"}})
            if r.status != 200:
                return "cycle start: %s" % r.short()
        ca = (self.status(a) or {}).get("cycle_id")
        st = self.status(a)
        if "score" in (st.get("scoring") or "") and not st.get("model_loaded"):
            detail("stream a scoring: %s" % st.get("scoring"))
        t = self.t_base
        n0 = 3 * self.model_window
        for sid in (a, b):
            r = self.batch(sid, self._rows(t, n0, D))
            if r.status != 200:
                return "normal batch: %s" % r.short()
        # B is scored before anything happens.
        deadline = time.monotonic() + 10
        nb0 = 0
        while time.monotonic() < deadline:
            nb0, r = self._score_count(b)
            if nb0:
                break
            time.sleep(0.2)
        if not nb0:
            st = self.status(b)
            return "stream b has no scores before the probe (scoring: %s; scores: %s)" % (st.get("scoring"), r.short())
        t += n0 * 0.01
        # The poison: 3.4e38 in every sensor of one row of A, then more rows.
        poison = '{"stream_id":"%s","rows":[{"timestamp":%r,"values":[%s]}]}' % (a, t, ",".join(["3.4e38"] * D))
        r = self.batch(a, None, raw=poison)
        accepted = r.status == 200
        detail("3.4e38 in stream a: %s" % r.short())
        if not accepted:
            why = error_shape(r, {400})
            if why:
                problems.append("3.4e38: %s" % why)
        t += 0.01
        r = self.batch(a, self._rows(t, n0, D))
        if r.status != 200:
            problems.append("normal rows after the 3.4e38 row: %s" % r.short())
        # B keeps going while A's poisoned windows are scored.
        tb = t
        for k in range(10):
            r = self.batch(b, self._rows(tb, 20, D, phase=k))
            tb += 0.2
            if r.status != 200:
                problems.append("stream b batch %d after the poison: %s" % (k, r.short()))
                break
            time.sleep(0.1)
            if not self.server.alive():
                break
        if not self.server.alive():
            problems.append("server died while scoring the windows around 3.4e38")
            return problems
        deadline = time.monotonic() + 10
        nb1, r = 0, None
        while time.monotonic() < deadline:
            nb1, r = self._score_count(b)
            if nb1 is not None and nb1 > nb0:
                break
            time.sleep(0.3)
        if nb1 is None:
            problems.append("GET /api/v1/streams/{b}/scores: %s" % r.short())
        elif nb1 <= nb0:
            problems.append("stream b got no new scores after the 3.4e38 row (%d before, %d after)" % (nb0, nb1))
        else:
            detail("stream b scores: %d before, %d after" % (nb0, nb1))
        na, ra = self._score_count(a)
        detail("stream a scores endpoint: %s" % ("%d points" % na if na is not None else ra.short()))
        # Stopping the poisoned cycle: report generation must not crash.
        r = self.cycle(a, "stop")
        if r.status != 200:
            problems.append("cycle stop of stream a: %s" % r.short())
        self.cycle(b, "stop")
        time.sleep(2.0)
        if not self.server.alive():
            problems.append("server died after stopping the cycle with 3.4e38")
            return problems
        if ca:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                r = self.c.get("/api/v1/cycles/%s" % ca, token=self.engineer)
                if r.status != 200:
                    break
                j = r.json() or {}
                if j.get("report") is not None or (j.get("cycle") or {}).get("state") in ("STOPPED", "ABORTED", "stopped", "aborted"):
                    break
                time.sleep(0.3)
            if r.status != 200:
                problems.append("GET /api/v1/cycles/{a's cycle} after stop: %s" % r.short())
            else:
                detail("a's cycle after stop: %s" % r.body[:200].decode("utf-8", "replace"))
        return problems

    # -- 3: NUL ------------------------------------------------------------------------------

    def p3_nul_device_name(self):
        before = len((self.c.get("/api/v1/streams", token=self.engineer).json() or {}).get("streams", []))
        raw = '{"device_name":"dev\\u0000ice","sensors":[{"sensor_id":"x","name":"x","type":"t","unit":"u"}]}'
        r = self.c.post("/api/live/register", raw, token=self.ingest)
        problems = []
        why = error_shape(r, {400})
        if why:
            problems.append("device_name with NUL: %s" % why)
        raw = '{"device_name":"dev","sensors":[{"sensor_id":"x","name":"x\\u0000y","type":"t","unit":"u"}]}'
        r2 = self.c.post("/api/live/register", raw, token=self.ingest)
        detail("sensor name with NUL at register: %s" % r2.short())
        after = len((self.c.get("/api/v1/streams", token=self.engineer).json() or {}).get("streams", []))
        expected = before + (1 if r2.status in (200, 201) else 0)
        if r.status not in (200, 201) and after != expected:
            problems.append("stream count %d -> %d after refused registrations" % (before, after))
        return problems

    def p3_nul_batch_id(self):
        problems = []
        sid = self.register("probe-nul", ["a"])
        t = self.t_base
        r = self.batch(sid, [(t, [1.0])])
        before = self.status(sid).get("last_sample_at")
        raw = '{"stream_id":"%s","batch_id":"a\\u0000b","rows":[{"timestamp":%r,"values":[2.0]}]}' % (sid, t + 1)
        r = self.batch(sid, None, raw=raw)
        why = error_shape(r, {400})
        if why:
            problems.append('batch_id "a\\u0000b": %s' % why)
        else:
            after = self.status(sid).get("last_sample_at")
            if after != before:
                problems.append("the refused batch moved last_sample_at %s -> %s" % (before, after))
        r = self.batch(sid, [(t + 2, [3.0])], batch_id="a")
        j = r.json() or {}
        if r.status != 200:
            problems.append('batch_id "a" afterwards: %s' % r.short())
        elif j.get("duplicate") or j.get("rows_stored") != 1:
            problems.append('batch_id "a" answered as a duplicate of the NUL batch: %s' % r.short())
        else:
            r = self.batch(sid, [(t + 2, [3.0])], batch_id="a")
            if r.status != 200 or not (r.json() or {}).get("duplicate"):
                problems.append('a retry of batch_id "a" is not answered duplicate: %s' % r.short())
        return problems

    # -- 4: the stream WebSocket ---------------------------------------------------------------

    def p4_ws_refusals(self):
        problems = []
        sid = self.register("probe-ws-auth", ["a"])
        self.p4_sid = sid
        cases = [
            ("stream socket, no token", "/api/live/ws/stream/" + sid, None, {401}),
            ("stream socket, engineer token", "/api/live/ws/stream/" + sid, self.engineer, {403}),
            ("stream socket, unknown token", "/api/live/ws/stream/" + sid, "vt_" + "0" * 64, {401}),
            ("review socket, no token", "/api/v1/live", None, {401}),
            ("review socket, ingest token", "/api/v1/live", self.ingest, {403}),
            ("stream socket, unknown stream", "/api/live/ws/stream/no-such-stream", self.ingest, {404}),
        ]
        for label, path, tok, want in cases:
            ws, r = ws_open(self.c, path, token=tok)
            if ws:
                ws.close()
                problems.append("%s: upgraded (101)" % label)
                continue
            why = error_shape(r, want)
            if why:
                problems.append("%s: %s" % (label, why))
        # Sanity: the right token upgrades (else the refusals above prove nothing).
        ws, r = ws_open(self.c, "/api/live/ws/stream/" + sid, token=self.ingest)
        if not ws:
            problems.append("ingest token with ?token= does not upgrade: %s" % r.short())
        else:
            ws.close()
        return problems

    def _ws_batch(self, target_bytes, t0, D=10):
        """A batch JSON text of about `target_bytes` (compact rows form, no stream_id)."""
        vals = "[" + ",".join("%.6f" % (1000 + j + 0.123456) for j in range(D)) + "]"
        row_len = len('{"timestamp":%.4f,"values":%s},' % (t0, vals))
        n = max(1, (target_bytes - 20) // row_len + 1)
        rows = ",".join('{"timestamp":%.4f,"values":%s}' % (t0 + k * 0.001, vals) for k in range(n))
        return '{"rows":[%s]}' % rows, n

    def p4_ws_300k_frame(self):
        sid = self.register("probe-ws-big", ["s%d" % j for j in range(10)])
        self.p4_big_sid = sid
        ws, r = ws_open(self.c, "/api/live/ws/stream/" + sid, token=self.ingest)
        if not ws:
            return "no upgrade: %s" % r.short()
        try:
            text, n = self._ws_batch(300 * 1024, self.t_base)
            detail("300 KiB frame: %d bytes, %d rows" % (len(text), n))
            ws.send(text)
            # The socket also carries the stream's pushes (samples, state_change, ...): wait for
            # the answer to the batch.
            deadline = time.monotonic() + 15
            while True:
                reply = ws.next_text(max(0.1, deadline - time.monotonic()))
                if reply is None:
                    return "no reply to a %d-byte batch (close code %s %r)" % (len(text), ws.reader.close_code, ws.reader.close_reason)
                j = json.loads(reply)
                if j.get("type") in ("ack", "error"):
                    break
            if j.get("type") != "ack" or (j.get("data") or {}).get("rows_stored") != n:
                return "reply is not an ack of %d rows: %s" % (n, reply[:200])
        finally:
            ws.close()
        return None

    def p4_ws_oversize_frame(self):
        sid = getattr(self, "p4_big_sid", None) or self.register("probe-ws-big2", ["s%d" % j for j in range(10)])
        before = self.status(sid).get("last_sample_at")
        ws, r = ws_open(self.c, "/api/live/ws/stream/" + sid, token=self.ingest)
        if not ws:
            return "no upgrade: %s" % r.short()
        problems = []
        try:
            text, n = self._ws_batch(3 * 512 * 1024, self.t_base + 1000)
            frame = ws_frame(1, text.encode())
            seen = {"n": 0}

            def done(b, e):
                if len(b) > seen["n"]:
                    ws.reader.feed(bytes(b[seen["n"]:]))
                    seen["n"] = len(b)
                return ws.reader.close_code is not None

            buf, eof, sent, send_err, timed_out = exchange(ws.sock, frame, 15, done)
            done(buf, eof)
            if ws.reader.close_code is None and not eof:
                ws.pump(3)
            code = ws.reader.close_code
            detail("1.5 MiB frame (%d bytes, %d sent): close code %s %r, eof %s, send error %s"
                   % (len(frame), sent, code, ws.reader.close_reason, eof or ws.closed, send_err))
            texts = [p for op, p, _ in ws.reader.frames if op == 1]
            if code != 1009:
                problems.append("expected close 1009, got %s (replies: %s)" % (
                    code if code is not None else ("connection closed without a close frame" if (eof or ws.closed) else "nothing"),
                    (texts[0][:120].decode("utf-8", "replace") if texts else "none")))
        finally:
            ws.close()
        after = self.status(sid).get("last_sample_at")
        if after != before:
            problems.append("the oversize batch was stored (last_sample_at %s -> %s)" % (before, after))
        return problems

    def p4_ws_ping_flood(self):
        sid = self.register("probe-ws-flood", ["a"], token=self.ingest_flood)
        ws, r = ws_open(self.c, "/api/live/ws/stream/" + sid, token=self.ingest_flood)
        if not ws:
            return "no upgrade: %s" % r.short()
        N = 20000
        blob = b"".join(ws_frame(1, b"ping") for _ in range(N))
        counts = {"pong": 0, "error": 0, "other": 0}
        codes = {}
        reader = FrameReader()
        state = {"n": 0}

        def done(buf, eof):
            if len(buf) > state["n"]:
                for op, payload, _ in reader.feed(bytes(buf[state["n"]:])):
                    if op == 1:
                        try:
                            j = json.loads(payload)
                        except ValueError:
                            counts["other"] += 1
                            continue
                        ty = j.get("type")
                        if ty == "pong":
                            counts["pong"] += 1
                        elif ty == "error":
                            counts["error"] += 1
                            c = (j.get("data") or {}).get("code")
                            codes[c] = codes.get(c, 0) + 1
                        else:
                            counts["other"] += 1
                state["n"] = len(buf)
            return reader.close_code is not None or counts["pong"] + counts["error"] + counts["other"] >= N

        t0 = time.monotonic()
        buf, eof, sent, send_err, timed_out = exchange(ws.sock, blob, 25, done)
        dt = time.monotonic() - t0
        ws.close()
        detail("ping flood: %d frames sent of %d in %.1f s; pongs %d, errors %d %s, other %d; close %s %r; eof %s; send error %s"
               % (sent // 10, N, dt, counts["pong"], counts["error"], codes, counts["other"], reader.close_code,
                  reader.close_reason, eof, send_err))
        if counts["error"] == 0 and reader.close_code not in (1008, 1013):
            return ("no rate limit: %d pongs, %d errors, close code %s (%s)"
                    % (counts["pong"], counts["error"], reader.close_code,
                       "timed out" if timed_out else "eof" if eof else "ended"))
        return None

    # -- 5: a review socket that never reads -----------------------------------------------------

    def p5_slow_review_socket(self):
        problems = []
        # The load: two wide streams (1,000 sensors with 100-character names, within the limits)
        # in batches of --load-rows rows (default 1). Every committed batch is pushed to the
        # review socket with all sensor names, so each push is ~105 KB and small batches push the
        # most bytes per second: ~7 MB/s on a 2-core machine, where the store's commits are the
        # limit. That is not enough to pass 200 MB in 10 s even without any bound, so what tells
        # an unbounded server from a fixed one here is mostly whether the slow socket is dropped.
        D, name_len, rows_per_batch = self.args.load_sensors, 100, self.args.load_rows
        names = [("h%04d-" % j).ljust(name_len, "x") for j in range(D)]
        streams = [self.register("probe-load-%d" % k, names, token=self.ingest_load) for k in range(self.args.load_feeders)]
        stop = threading.Event()
        stats = {"batches": 0, "bytes": 0, "errors": [], "statuses": {}}
        lock = threading.Lock()
        vals = "[" + ",".join(str(1 + j % 9) for j in range(D)) + "]"

        def feeder(sid, t0):
            import http.client
            conn = http.client.HTTPConnection(HOST, self.server.port, timeout=30)
            t = t0
            while not stop.is_set():
                rows = ",".join('{"timestamp":%.4f,"values":%s}' % (t + k * 0.0005, vals) for k in range(rows_per_batch))
                body = ('{"stream_id":"%s","rows":[%s]}' % (sid, rows)).encode()
                try:
                    conn.request("POST", "/api/live/batch", body, {"Authorization": "Bearer " + self.ingest_load,
                                                                   "Content-Type": "application/json"})
                    resp = conn.getresponse()
                    resp.read()
                except Exception as e:
                    with lock:
                        stats["errors"].append(str(e))
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, self.server.port, timeout=30)
                    if not self.server.alive():
                        return
                    time.sleep(0.2)
                    continue
                with lock:
                    stats["statuses"][resp.status] = stats["statuses"].get(resp.status, 0) + 1
                    if resp.status == 200:
                        stats["batches"] += 1
                        stats["bytes"] += len(body)
                        t += rows_per_batch * 0.0005
                if resp.status in (429, 503):
                    time.sleep(0.2)
                elif resp.status != 200:
                    # Timestamps must move on even when refused (e.g. a 409 means we lost sync).
                    t += rows_per_batch * 0.0005
                    time.sleep(0.05)
            conn.close()

        def run_feeders(seconds, t0s):
            stop.clear()
            ths = [threading.Thread(target=feeder, args=(sid, t0), daemon=True) for sid, t0 in zip(streams, t0s)]
            for th in ths:
                th.start()
            peak = 0.0
            end = time.monotonic() + seconds
            while time.monotonic() < end and self.server.alive():
                rss = self.server.rss_mb() or 0.0
                peak = max(peak, rss)
                time.sleep(0.25)
            stop.set()
            for th in ths:
                th.join(timeout=35)
            return peak

        # Warm up (allocator arenas, SQLite cache) without a slow reader, then the baseline.
        warm = 4.0
        rss0 = self.server.rss_mb() or 0.0
        warm_peak = run_feeders(warm, [self.t_base + 0.25 * k for k in range(len(streams))])
        warm_batches = stats["batches"]
        time.sleep(1.0)
        base = self.server.rss_mb()
        detail("warm-up without a slow reader: %d batches in %.0f s; RSS %.0f -> peak %.0f MB; baseline %.0f MB"
               % (warm_batches, warm, rss0, warm_peak, base or -1))
        # The slow reader: a small receive buffer, subscribes to everything, then never reads.
        ws, r = ws_open(self.c, "/api/v1/live", token=self.engineer, rcvbuf=4096)
        if not ws:
            return "review socket: no upgrade: %s" % r.short()
        ws.send(json.dumps({"subscribe": "*", "events": True, "samples": True}))
        reply = ws.next_text(5)
        detail("subscribe reply: %s" % (reply or "none")[:120])
        stats["batches"], stats["bytes"] = 0, 0
        t1 = self.t_base + 1000
        t0 = time.monotonic()
        peak = run_feeders(10.0, [t1 + 0.25 * k for k in range(len(streams))])
        dt = time.monotonic() - t0
        end = time.monotonic() + 2
        while time.monotonic() < end and self.server.alive():
            peak = max(peak, self.server.rss_mb() or 0.0)
            time.sleep(0.25)
        growth = peak - (base or 0)
        detail("load: %d batches, %.0f MB of JSON in %.1f s (%s); errors %d%s"
               % (stats["batches"], stats["bytes"] / 1e6, dt, stats["statuses"], len(stats["errors"]),
                  (" e.g. " + stats["errors"][0]) if stats["errors"] else ""))
        detail("RSS: baseline %.0f MB, peak %.0f MB, growth %.0f MB" % (base or -1, peak, growth))
        if not self.server.alive():
            ws.close()
            return "server died under load with a slow review socket"
        if stats["batches"] < 20:
            problems.append("the load did not get going (%d batches acknowledged: %s)" % (stats["batches"], stats["statuses"]))
        if growth > 200:
            problems.append("RSS grew by %.0f MB (%.0f -> %.0f MB) with a review socket that does not read" % (growth, base, peak))
        self.p5_growth = growth
        # Was the slow socket dropped? Read what is queued for it until the server closes it.
        drained = 0
        fr = FrameReader(keep=False)
        ws.sock.setblocking(False)
        deadline = time.monotonic() + 20
        idle_since = time.monotonic()
        closed = False
        while time.monotonic() < deadline:
            p = select.poll()
            p.register(ws.sock, select.POLLIN)
            if not p.poll(200):
                if time.monotonic() - idle_since > 3:
                    break
                continue
            try:
                chunk = ws.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            idle_since = time.monotonic()
            drained += len(chunk)
            fr.feed(chunk)
            if fr.close_code is not None:
                closed = True
                break
        ws.close()
        detail("slow socket: %.1f MB were still queued for it; %s"
               % (drained / 1e6, ("closed by the server (close code %s)" % fr.close_code) if closed else "still open"))
        if not closed:
            problems.append("the slow review socket was not dropped (%.1f MB delivered when read afterwards, connection still open)"
                            % (drained / 1e6))
        return problems

    # -- 6: HTTP hardening ---------------------------------------------------------------------

    def p6_cycle_start_3mib(self):
        problems = []
        sid = self.register("probe-bigstart", ["a"])
        st0 = self.status(sid)
        cycles0 = self.c.get("/api/v1/streams/%s/cycles" % sid, token=self.engineer)
        n0 = len((cycles0.json() or {}).get("cycles", []))
        body = '{"metadata":{"note":"%s"}}' % ("x" * (3 << 20))
        r = self.cycle(sid, "start", body)
        why = error_shape(r, {413})
        if why:
            problems.append("3 MiB cycle/start body: %s" % why)
        st1 = self.status(sid)
        n1 = len((self.c.get("/api/v1/streams/%s/cycles" % sid, token=self.engineer).json() or {}).get("cycles", []))
        if st1.get("state") != st0.get("state") or n1 != n0:
            problems.append("the cycle started anyway (state %s -> %s, cycles %d -> %d)" % (st0.get("state"), st1.get("state"), n0, n1))
        return problems

    def p6_big_header(self):
        req = ("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Padding: %s\r\n\r\n" % ("a" * 100_000)).encode()
        r = self.c.raw(req, timeout=10)
        detail("100 KB header: %s in %.2f s" % (r.short(), r.elapsed))
        if r.status not in (431, 400):
            return "expected 431 or 400, got %s" % (r.short() if r.status else "silence (%s)" % r.error)
        return None

    def p6_query_token_http(self):
        problems = []
        sid = getattr(self, "p4_sid", None)
        cases = [("/api/v1/streams?token=" + self.admin, {401})]
        if sid:
            cases.append(("/api/live/stream/%s/status?token=%s" % (sid, self.admin), {401}))
        cases.append(("/api/v1/models?token=" + self.admin, {401}))
        for path, want in cases:
            r = self.c.get(path)
            why = error_shape(r, want)
            if why:
                problems.append("GET %s: %s" % (path.split("?")[0] + "?token=<admin>", why))
        return problems

    def p6_no_open_redirect(self):
        problems = []
        for path in ("//js", "//js/", "///js", "//css", "//127.0.0.1.example/js", "/js/..//js", "//%2e%2e"):
            r = self.c.raw(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode(), timeout=5)
            loc = r.header("location") or ""
            detail("GET %s: %s%s" % (path, r.status, (" Location: " + loc) if loc else ""))
            if loc.startswith("//") or loc.startswith("/\\") or loc.startswith("\\"):
                problems.append("GET %s redirects to %s (protocol-relative)" % (path, loc))
            elif r.status is None:
                problems.append("GET %s: %s" % (path, r.error))
        return problems

    def p6_security_headers(self):
        problems = []
        for label, path, tok in (("GET /", "/", None), ("GET /api/health", "/api/health", None),
                                 ("GET /api/v1/streams", "/api/v1/streams", self.engineer),
                                 ("401 error", "/api/v1/streams", None)):
            r = self.c.get(path, token=tok)
            missing = []
            if not r.header("content-security-policy"):
                missing.append("Content-Security-Policy")
            if (r.header("x-frame-options") or "").upper() not in ("DENY", "SAMEORIGIN"):
                missing.append("X-Frame-Options DENY|SAMEORIGIN (got %r)" % r.header("x-frame-options"))
            if (r.header("x-content-type-options") or "").lower() != "nosniff":
                missing.append("X-Content-Type-Options nosniff (got %r)" % r.header("x-content-type-options"))
            if missing:
                problems.append("%s (%s): lacks %s" % (label, r.status, ", ".join(missing)))
        return problems

    def p6_file_modes(self):
        problems = []
        d = self.server.data
        paths = [d] + [os.path.join(d, f) for f in os.listdir(d)]
        for p in paths:
            mode = os.stat(p).st_mode & 0o777
            detail("%s %o" % (os.path.relpath(p, self.server.work), mode))
            if mode & 0o007:
                problems.append("%s is mode %o (world bits set)" % (os.path.relpath(p, self.server.work), mode))
        return problems

    # -- 7: model uploads ----------------------------------------------------------------------

    def _models(self):
        r = self.c.get("/api/v1/models", token=self.admin)
        if r.status != 200:
            raise Failed("GET /api/v1/models: %s" % r.short())
        return [m["id"] for m in (r.json() or {}).get("models", [])]

    def p7_corrupt_models(self):
        problems = []
        with open(self.server.model, "rb") as f:
            good = f.read()
        rng = random.Random(20240611)
        mutants = []
        for k in range(20):
            b = bytearray(good)
            # Half the flips land in the first 4 KiB (superblock, root object headers, B-trees),
            # where a parser trusts offsets and sizes; the rest anywhere.
            n = 1 if k < 8 else rng.randint(2, 6)
            where = []
            for _ in range(n):
                pos = rng.randrange(0, min(4096, len(b))) if rng.random() < 0.5 else rng.randrange(0, len(b))
                b[pos] ^= rng.randrange(1, 256)
                where.append(pos)
            mutants.append(("mutant-%02d@%s" % (k, ",".join(map(str, where))), bytes(b)))
        mutants.append(("truncated-half", good[:len(good) // 2]))
        mutants.append(("truncated-2048", good[:2048]))
        mutants.append(("random-200k", rng.randbytes(200_000)))
        mutants.append(("hdf5-signature+random", b"\x89HDF\r\n\x1a\n" + rng.randbytes(100_000)))
        ids = self._models()
        accepted, crashes = 0, 0
        for name, data in mutants:
            r = self.c.post("/api/v1/models?name=%s.h5" % name.split("@")[0], data, token=self.admin, timeout=20,
                            content_type="application/octet-stream")
            if r.status is None:
                alive = self.server.alive()
                problems.append("%s: %s (%s)" % (name, "no answer within 20 s" if "timed out" in (r.error or "") else r.error,
                                                 "server alive" if alive else "server died: " + (self.server.proc.poll() is not None and self.server.exit_text() or "")))
                crashes += 1
                detail("%s: %s; server log: %s" % (name, r.error, self.server.log_tail(3).replace("\n", " | ")))
                # Bring the server back for the remaining uploads.
                if self.server.alive():
                    ok, _ = self.health_ok()
                    if not ok:
                        self.server.restart()
                else:
                    self.server.proc.wait()
                    self.server.deaths.append("p7:" + name)
                    self.server.start()
                if crashes >= 4:
                    problems.append("stopped after %d crashes/hangs" % crashes)
                    break
                ids = self._models()
                continue
            if r.status in (200, 201):
                mid = (r.json() or {}).get("id")
                if mid and mid not in ids:
                    ids.append(mid)
                accepted += 1
                detail("%s: accepted as %s" % (name, mid))
                continue
            why = error_shape(r, {422})
            if why:
                problems.append("%s: %s" % (name, why))
            now = self._models()
            if sorted(now) != sorted(ids):
                problems.append("%s: rejected but the model list changed (%d -> %d)" % (name, len(ids), len(now)))
                ids = now
        detail("%d uploads, %d accepted as valid, %d crashes/hangs" % (len(mutants), accepted, crashes))
        return problems

    def p7_model_65mib(self):
        before = self._models()
        body = bytes(65 << 20)
        r = self.c.post("/api/v1/models?name=huge.h5", body, token=self.admin, timeout=60,
                        content_type="application/octet-stream")
        detail("65 MiB upload: %s (sent %d bytes in %.1f s)" % (r.short(), getattr(r, "sent", -1), r.elapsed))
        problems = []
        why = error_shape(r, {413})
        if why:
            problems.append(why)
        else:
            msg = (r.json() or {}).get("error", {}).get("message", "")
            if "64 MiB" not in msg:
                problems.append("413 message does not name 64 MiB: %r" % msg)
        if sorted(self._models()) != sorted(before):
            problems.append("the model list changed")
        return problems

    def p7_no_temp_files(self):
        left = glob(os.path.join(self.server.tmp, "vertac-model-*")) + \
            glob(os.path.join(self.server.data, "**", "vertac-model-*"), recursive=True) + \
            glob(os.path.join(self.server.work, "vertac-model-*"))
        if left:
            return "%d vertac-model-* temp files left: %s" % (len(left), ", ".join(os.path.basename(p) for p in left[:5]))
        return None

    # -- 8: half-sent requests -----------------------------------------------------------------

    def p8_half_open_connections(self):
        problems = []
        N = 1100
        wait_close = float(self.args.header_timeout_wait)
        socks = []
        t0 = time.monotonic()
        for _ in range(N):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((HOST, self.server.port))
            except BlockingIOError:
                pass
            except OSError as e:
                detail("connect error: %s" % e)
                s.close()
                continue
            socks.append(s)
        # Wait for the handshakes (the kernel completes them while the accept queue has room).
        pending = {s.fileno(): s for s in socks}
        connected = []
        poller = select.poll()
        for s in socks:
            poller.register(s, select.POLLOUT)
        deadline = time.monotonic() + 5
        while pending and time.monotonic() < deadline:
            for fd, ev in poller.poll(200):
                s = pending.pop(fd, None)
                if s is None:
                    continue
                poller.unregister(fd)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected.append(s)
                else:
                    s.close()
        half = b"POST /api/live/batch HTTP/1.1\r\nHost: x\r\n"
        held = []
        for s in connected:
            try:
                s.send(half)
                held.append(s)
            except OSError:
                s.close()
        detail("%d connections opened, %d connected, %d holding half a request (%.1f s)"
               % (N, len(connected), len(held), time.monotonic() - t0))
        time.sleep(1.0)
        # A new connection must still be served.
        r = self.c.get("/api/health", timeout=10)
        detail("GET /api/health while holding them: %s in %.2f s" % (r.short(), r.elapsed))
        if r.status != 200:
            problems.append("GET /api/health on a new connection while %d half-sent requests are held: %s"
                            % (len(held), r.short()))
        elif r.elapsed > 5:
            problems.append("GET /api/health took %.1f s while %d half-sent requests are held" % (r.elapsed, len(held)))
        if not self.server.alive():
            problems.append("server died holding %d connections" % len(held))
        # The server closes the half-sent ones after its header timeout.
        open_ = {s.fileno(): s for s in held}
        poller = select.poll()
        for s in held:
            poller.register(s, select.POLLIN)
        closed_at = []
        deadline = time.monotonic() + wait_close
        while open_ and time.monotonic() < deadline:
            for fd, ev in poller.poll(500):
                s = open_.get(fd)
                if s is None:
                    continue
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    poller.unregister(fd)
                    del open_[fd]
                    closed_at.append(time.monotonic() - t0)
                # Data (e.g. a 408 answer) is fine; the close comes after it.
        n_closed = len(held) - len(open_)
        detail("after %.0f s: %d of %d closed by the server%s" % (
            time.monotonic() - t0, n_closed, len(held),
            (" (first at %.1f s, last at %.1f s)" % (min(closed_at), max(closed_at))) if closed_at else ""))
        if open_:
            problems.append("%d of %d half-sent connections still open after %.0f s (no header timeout?)"
                            % (len(open_), len(held), wait_close))
        for s in held + connected:
            try:
                s.close()
            except OSError:
                pass
        for s in pending.values():
            s.close()
        return problems

    # -- all --------------------------------------------------------------------------------

    def main(self):
        started = time.monotonic()
        try:
            self.setup()
        except Exception as e:
            print("FAIL setup: %s" % e, flush=True)
            print("0 passed, 1 failed", flush=True)
            return 1
        probes = [
            ("p1.huge_timestamps_rejected", self.p1_timestamps),
            ("p2.nonfinite_values_rejected", self.p2_nonfinite_rejected),
            ("p2.huge_value_other_stream_scored", self.p2_huge_value_scoring),
            ("p3.nul_device_name_rejected", self.p3_nul_device_name),
            ("p3.nul_batch_id_rejected", self.p3_nul_batch_id),
            ("p4.ws_refusals_are_json", self.p4_ws_refusals),
            ("p4.ws_300k_frame_accepted", self.p4_ws_300k_frame),
            ("p4.ws_1_5mib_frame_closed_1009", self.p4_ws_oversize_frame),
            ("p4.ws_ping_flood_rate_limited", self.p4_ws_ping_flood),
            ("p5.slow_review_socket", self.p5_slow_review_socket),
            ("p6.cycle_start_3mib_413", self.p6_cycle_start_3mib),
            ("p6.header_100kb_answered", self.p6_big_header),
            ("p6.query_token_refused_on_http", self.p6_query_token_http),
            ("p6.no_protocol_relative_redirect", self.p6_no_open_redirect),
            ("p6.security_headers", self.p6_security_headers),
            ("p6.data_not_world_readable", self.p6_file_modes),
            ("p7.corrupt_models_rejected", self.p7_corrupt_models),
            ("p7.model_65mib_413", self.p7_model_65mib),
            ("p7.no_model_temp_files", self.p7_no_temp_files),
            ("p8.half_open_connections", self.p8_half_open_connections),
            # p9 (disk full): not replayed here, see the module docstring.
        ]
        try:
            for name, fn in probes:
                self.run(name, fn)
        finally:
            self.server.stop()
        passed = sum(1 for _, ok in self.results if ok)
        failed = len(self.results) - passed
        detail("suite took %.0f s; server restarts after deaths: %s" % (time.monotonic() - started, self.server.deaths or "none"))
        print("%d passed, %d failed" % (passed, failed), flush=True)
        return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="vertac-serve binary")
    ap.add_argument("--model", required=True, help="model file for --model")
    ap.add_argument("--work", required=True, help="scratch directory (data, tmp, log)")
    ap.add_argument("--only", help="comma-separated probe names or prefixes (p4, p6.security_headers)")
    ap.add_argument("--server-nofile", type=int, default=int(os.environ.get("PROBE_SERVER_NOFILE", "1024")),
                    help="soft fd limit for the server (default 1024, a systemd default; 0 leaves it)")
    ap.add_argument("--header-timeout-wait", type=float, default=float(os.environ.get("PROBE_HEADER_TIMEOUT_WAIT", "40")),
                    help="seconds to wait for the server to close half-sent requests")
    ap.add_argument("--load-sensors", type=int, default=1000, help="p5: sensors per load stream")
    ap.add_argument("--load-rows", type=int, default=1, help="p5: rows per load batch")
    ap.add_argument("--load-feeders", type=int, default=2, help="p5: load streams fed at once")
    args = ap.parse_args()
    # Our own fd limit: 1,100 held connections plus the rest.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(max(soft, 4096), hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    suite = Suite(args)

    def on_signal(signum, _frame):
        suite.server.stop()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.exit(suite.main())


if __name__ == "__main__":
    main()
