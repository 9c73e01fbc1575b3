"""sbs_harness.py - processes and helpers for the side-by-side, amtool, Prometheus
and benchmark runs: start Alertmanager or amrouter on a loopback port with a
config in a private temporary directory, capture webhook notifications, call
the API v2.

Invariants: everything listens on 127.0.0.1 only; every process started here is
stopped by its own PID (terminate, then kill after a bounded wait); every wait
is bounded in time. Each server object owns its temporary directory and
removes it on stop().

The shared tests/integration/harness.py (API engineer) covers the same ground
for the other suites; this file stays independent so the side-by-side suite
does not depend on its exact shape.
"""
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

ALERTMANAGER_BIN = os.environ.get("ALERTMANAGER_BIN", "/usr/bin/prometheus-alertmanager")
AMTOOL_BIN = os.environ.get("AMTOOL_BIN", "/usr/bin/amtool")
PROMETHEUS_BIN = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def amrouter_bin():
    """Path of the amrouter binary under test (AMROUTER_BIN, else bin/amrouter)."""
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.normpath(os.path.join(here, "..", "..", "bin", "amrouter"))
    return os.environ.get("AMROUTER_BIN", default)


def amrouter_runnable():
    """(True, "") when `AMROUTER_BIN --version` exits 0, else (False, why).

    This is the only condition under which the comparison tests skip: once the
    binary answers --version, a daemon that fails to start or disagrees with
    Alertmanager is a test failure, not a skip."""
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

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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


class Server:
    """A daemon started with Alertmanager's flags on a free loopback port.

    Subclasses set `binary` and `extra_args`. start() writes config_text to a
    temporary directory, starts the process and waits (bounded) for /-/ready."""

    binary = None
    extra_args = ()
    name = "server"

    def __init__(self, config_text, ready_timeout=15.0, args=()):
        self.config_text = config_text
        self.ready_timeout = ready_timeout
        self.args = list(args)
        self.dir = tempfile.mkdtemp(prefix=f"sbs-{self.name}-")
        self.config_path = os.path.join(self.dir, "config.yml")
        self.storage = os.path.join(self.dir, "data")
        os.makedirs(self.storage)
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.proc = None
        self.port = None
        self.url = None
        self.log_path = os.path.join(self.dir, "log")

    def argv(self):
        return [self.binary, f"--config.file={self.config_path}",
                f"--storage.path={self.storage}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--web.external-url={self.url}"] + list(self.extra_args) + self.args

    def start(self):
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            log.close()
            ok, last = self._wait_ready()
            if ok:
                return self
            self._kill()
            if "address already in use" not in self.log().lower():
                break
        raise RuntimeError(f"{self.name} did not become ready: {last}\n--- log ---\n"
                           + self.log()[-3000:])

    def _wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, f"exited with status {self.proc.returncode}"
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return True, ""
                    last = f"/-/ready answered {r.status}"
            except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
                last = str(e)
            time.sleep(0.05)
        return False, f"not ready after {self.ready_timeout}s ({last})"

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def pid(self):
        return self.proc.pid if self.proc else None

    def rss_kib(self):
        """Resident set size and its peak (VmRSS, VmHWM) in KiB from /proc."""
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
        return out.get("VmRSS", 0), out.get("VmHWM", 0)

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass

    def stop(self, keep_dir=False):
        self._kill()
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # API v2 helpers
    def post_alerts(self, alerts):
        return http_json("POST", self.url + "/api/v2/alerts", alerts)

    def post_silence(self, silence):
        return http_json("POST", self.url + "/api/v2/silences", silence)

    def delete_silence(self, sid):
        return http_json("DELETE", self.url + "/api/v2/silence/" + sid)

    def get(self, path):
        return http_json("GET", self.url + path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Alertmanager(Server):
    """prometheus-alertmanager, clustering off, stable external URL."""
    binary = ALERTMANAGER_BIN
    extra_args = ("--cluster.listen-address=",)
    name = "alertmanager"


class Amrouter(Server):
    """bin/amrouter (or AMROUTER_BIN) with Alertmanager's flags."""
    name = "amrouter"

    def __init__(self, *a, **kw):
        self.binary = amrouter_bin()
        super().__init__(*a, **kw)
