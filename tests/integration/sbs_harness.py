"""sbs_harness.py - processes and helpers for the side-by-side, amtool, Prometheus
and benchmark runs: start Alertmanager or amrouter on a loopback port with a
config in a private temporary directory, capture webhook notifications, call
the API v2.

Invariants: everything listens on 127.0.0.1 only; every process started here is
stopped by its own PID (terminate, then kill after a bounded wait); every wait
is bounded in time. Each server object owns its temporary directory and
removes it on stop().

The processes themselves are tests/integration/harness.py's Amrouter and
Alertmanager; this file adds what these runs need on top.
"""
import http.client
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

import harness

ALERTMANAGER_BIN = harness.ALERTMANAGER_BIN
AMTOOL_BIN = harness.AMTOOL_BIN
PROMETHEUS_BIN = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")


free_port = harness.free_port


def amrouter_bin():
    """Path of the amrouter binary under test (AMROUTER_BIN, else bin/amrouter)."""
    return harness.AMROUTER_BIN


def amrouter_runnable():
    """(True, "") when `AMROUTER_BIN --version` exits 0, else (False, why).

    This is the only condition under which the tests that use amrouter skip
    (the placeholder binary before the daemon existed): once the binary answers
    --version, a daemon that does not start, lacks an endpoint or disagrees with
    Alertmanager is a test failure."""
    path = amrouter_bin()
    if not os.path.exists(path):
        return False, f"{path} does not exist (build it with make)"
    try:
        p = subprocess.run([path, "--version"], capture_output=True, timeout=10, text=True)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{path} --version: {e}"
    if p.returncode != 0:
        msg = (p.stderr or p.stdout).strip().splitlines()
        return False, f"{path} --version exited {p.returncode}: {msg[0] if msg else ''}"
    return True, ""


def http_json(method, url, body=None, timeout=10):
    """One HTTP request; returns (status, parsed JSON or raw text or None)."""
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POSTed JSON body.

    notifications: list of (monotonic seconds, path, payload) in arrival order.
    Answers 200 to everything (status can be changed with `status`)."""

    def __init__(self):
        self.notifications = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n) if n > 0 else b""
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = {"_raw": raw.decode(errors="replace")}
                with outer.cond:
                    outer.notifications.append((time.monotonic(), self.path, payload,
                                                dict(self.headers)))
                    outer.cond.notify_all()
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            # The default backlog of 5 overflows when a dozen groups flush at
            # once; a dropped SYN is retried a second later, which skews timing.
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self):
        with self.lock:
            return [n[2] for n in self.notifications]

    def wait_for(self, pred, timeout):
        """Waits until pred(list of payloads) is true; returns it or None on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = pred([n[2] for n in self.notifications])
                if got:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _Mixin:
    """What the side-by-side, client and benchmark runs add to harness.py's
    daemons: a start that retries on another port when the chosen one was
    taken meanwhile (many servers start at once here), resident memory, API v2
    helpers. cleanup() (harness.py) stops by PID and removes the temp dir."""

    def start(self, wait=True, timeout=15):
        last = None
        for _attempt in range(3):
            try:
                return super().start(wait=wait, timeout=timeout)
            except AssertionError as e:
                last = e
                self.kill()
                if "address already in use" not in self.logs().lower():
                    break
                self.port = free_port()
        raise RuntimeError(f"{self.name} did not become ready: {last}")

    def log(self):
        return self.logs()

    def rss_kib(self):
        """Resident set size and its peak (VmRSS, VmHWM) in KiB from /proc."""
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
        return out.get("VmRSS", 0), out.get("VmHWM", 0)

    def post_alerts(self, alerts, version=2):
        return http_json("POST", self.url + f"/api/v{version}/alerts", alerts)

    def post_silence(self, silence):
        return http_json("POST", self.url + "/api/v2/silences", silence)

    def delete_silence(self, sid):
        return http_json("DELETE", self.url + "/api/v2/silence/" + sid)

    def get(self, path):
        return http_json("GET", self.url + path)


class Alertmanager(_Mixin, harness.Alertmanager):
    """prometheus-alertmanager, clustering off, stable external URL."""

    def __init__(self, config, args=()):
        super().__init__(config, args=args)


class Amrouter(_Mixin, harness.Amrouter):
    """bin/amrouter (or AMROUTER_BIN) with Alertmanager's flags."""

    def __init__(self, config, args=()):
        super().__init__(config, args=args, log_level="info", binary=amrouter_bin())
