"""Helpers every integration test uses: real processes on loopback, stopped by PID.

Import it from a test module in tests/integration (run.py puts this directory on
sys.path):

    import harness
    from harness import Amrouter, Alertmanager, WebhookReceiver

Binaries
    AMROUTER_BIN, AMCTL_BIN      from the environment (run.py / make test set them),
                                 else <repo>/bin/amrouter and <repo>/bin/amctl
    ALERTMANAGER_BIN, AMTOOL_BIN /usr/bin/prometheus-alertmanager, /usr/bin/amtool

Plain functions
    free_port() -> int                  a TCP port on 127.0.0.1 free right now
    request(method, url, body=None, headers=None, timeout=10) -> Response
        body: bytes, str, or anything else is sent as JSON. Never raises on
        HTTP status codes; raises on connection errors and timeouts.
    get_json(url, timeout=10) -> (status, parsed JSON or None)
    post_json(url, obj, timeout=10) -> Response
    post_alerts(base_url, alerts, version=2, timeout=10) -> Response
        POST base_url + /api/v{version}/alerts with the list `alerts`.
    alert(name="Test", labels=None, annotations=None, starts_at=None,
          ends_at=None, generator_url=None) -> dict   one alert in API form
    rfc3339(t=None) -> str              a time.time() value as RFC 3339 (UTC)
    wait_until(pred, timeout=10, interval=0.05, what="condition") -> value
        polls pred() until it returns something truthy, returns it, or raises
        AssertionError("timed out after Ns waiting for <what>").

Response: .status (int), .headers (dict, lower-case names), .body (bytes),
.text (str), .json() (parsed body).

Processes (Amrouter and Alertmanager share this interface)
    d = Amrouter(config_yaml, files=None, port=None, args=(), log_level="debug")
        Writes config_yaml to <tmp>/amrouter.yml (and each files[name] = text,
        e.g. team files, relative to it), storage in <tmp>/data. Nothing runs yet.
    d.start(wait=True, timeout=15)  starts the binary; with wait, polls
        GET /-/ready until 200 or raises AssertionError with the log tail (also
        when the process exits early).
    d.url                 "http://127.0.0.1:PORT"
    d.port, d.pid, d.dir, d.config_path, d.storage_path
    d.stop(timeout=10) -> exit status: SIGTERM, then SIGKILL after timeout.
    d.kill() -> exit status: SIGKILL at once (crash test).
    d.restart(wait=True)  stop (if running) and start again on the same
        port, config and storage.
    d.write_config(yaml)  replaces the config file (then d.reload() or SIGHUP).
    d.reload() -> Response of POST /-/reload.
    d.signal(signum)      sends a signal to the process.
    d.wait_exit(timeout=10) -> exit status or None if still running.
    d.logs() -> str       everything the process wrote (stdout + stderr).
    d.running -> bool
    d.cleanup()           stops the process and removes the temp dir; raises
        AssertionError if the process printed a sanitizer report (make check).
    d.sanitizer_report() -> the report text or None.
    Both are context managers (cleanup on exit). In a unittest.TestCase,
    `self.addCleanup(d.cleanup)` right after creating one.

    Amrouter(...).start(wait=False) plus d.wait_exit() is how tests check
    start-up failures (bad config, bad flags).

    Alertmanager(config_yaml, port=None, args=()) starts the real
    prometheus-alertmanager with clustering off, --web.external-url =
    http://127.0.0.1:PORT and its storage in its temp dir.

Webhook receiver
    r = WebhookReceiver(statuses=None)   threaded HTTP server on 127.0.0.1:0
        statuses: a list of status codes answered in order to successive
        requests (200 after the list runs out), or a callable(Request) -> int.
    r.start(); r.url ("http://127.0.0.1:PORT/"); r.url_for("/path")
    r.requests -> list of Request (a copy): .method .path .headers (dict,
        lower-case names) .body (bytes) .json (parsed or None) .time (monotonic)
    r.wait_for(n, timeout=10) -> the first n requests, or AssertionError.
    r.clear(); r.stop(). Context manager; also `self.addCleanup(r.stop)`.

Every wait in here is bounded; every process is stopped by its own PID.
"""

import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

AMROUTER_BIN = os.environ.get("AMROUTER_BIN") or os.path.join(REPO, "bin", "amrouter")
AMCTL_BIN = os.environ.get("AMCTL_BIN") or os.path.join(REPO, "bin", "amctl")
ALERTMANAGER_BIN = os.environ.get("ALERTMANAGER_BIN") or "/usr/bin/prometheus-alertmanager"
AMTOOL_BIN = os.environ.get("AMTOOL_BIN") or "/usr/bin/amtool"


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ",
                     "ThreadSanitizer")

# ---------------------------------------------------------------- plain helpers

_handed_out = set()
_port_lock = threading.Lock()


def free_port():
    """A TCP port on 127.0.0.1 that is free right now.

    Drawn at random below the kernel's ephemeral range (outgoing client
    sockets take ports from that range, so one could grab a port between this
    call and the daemon's bind), and never the same one twice in a process,
    so tests that start several servers at once cannot be handed one port.
    """
    with _port_lock:
        for _ in range(200):
            port = random.randint(20000, 32000)
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port found in 20000-32000")


def port_is_bound(port, host="127.0.0.1"):
    """True when something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


def rfc3339(t=None):
    """time.time() value (default now) as RFC 3339 UTC with milliseconds."""
    if t is None:
        t = time.time()
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def alert(name="Test", labels=None, annotations=None, starts_at=None, ends_at=None,
          generator_url=None):
    """One alert in API form; labels get alertname=name unless they set it."""
    a = {"labels": dict({"alertname": name}, **(labels or {}))}
    if annotations is not None:
        a["annotations"] = annotations
    if starts_at is not None:
        a["startsAt"] = starts_at if isinstance(starts_at, str) else rfc3339(starts_at)
    if ends_at is not None:
        a["endsAt"] = ends_at if isinstance(ends_at, str) else rfc3339(ends_at)
    if generator_url is not None:
        a["generatorURL"] = generator_url
    return a


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.body[:300])


def request(method, url, body=None, headers=None, timeout=10):
    """One HTTP request; returns a Response whatever the status."""
    u = urllib.parse.urlsplit(url)
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def get_json(url, timeout=10):
    """GET url; returns (status, parsed JSON body or None when it is not JSON)."""
    r = request("GET", url, timeout=timeout)
    try:
        return r.status, r.json()
    except ValueError:
        return r.status, None


def post_json(url, obj, timeout=10):
    return request("POST", url, body=json.dumps(obj),
                   headers={"Content-Type": "application/json"}, timeout=timeout)


def post_alerts(base_url, alerts, version=2, timeout=10):
    """POST a list of alerts to base_url/api/v{version}/alerts."""
    return post_json("%s/api/v%d/alerts" % (base_url.rstrip("/"), version), alerts,
                     timeout=timeout)


def wait_until(pred, timeout=10, interval=0.05, what="condition"):
    """Polls pred() until truthy (returned) or raises AssertionError after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------- processes

class _Daemon:
    """A server process with a temp dir, a log file and a port; see the module doc."""

    name = "daemon"

    def __init__(self, config, files=None, port=None, args=()):
        self.dir = tempfile.mkdtemp(prefix="amr-%s-" % self.name)
        self.port = port or free_port()
        self.args = list(args)
        self.proc = None
        self.log_path = os.path.join(self.dir, "%s.log" % self.name)
        self._log = None
        self.config_path = os.path.join(self.dir, self.config_name)
        self.storage_path = os.path.join(self.dir, "data")
        os.makedirs(self.storage_path, exist_ok=True)
        self.write_config(config)
        for rel, text in (files or {}).items():
            p = os.path.join(self.dir, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)

    # subclasses set config_name and define command()
    config_name = "config.yml"

    def command(self):
        raise NotImplementedError

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    def logs(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _log_tail(self, n=40):
        return "\n".join(self.logs().splitlines()[-n:])

    def start(self, wait=True, timeout=15):
        assert not self.running, "%s already running (pid %d)" % (self.name, self.pid)
        if self._log is not None:
            self._log.close()
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s during start-up; log:\n%s"
                                     % (self.name, self.proc.returncode, self._log_tail()))
            try:
                r = request("GET", self.url + "/-/ready", timeout=2)
                if r.status == 200:
                    return
                last = r.status
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("%s not ready after %gs (last: %s); log:\n%s"
                             % (self.name, timeout, last, self._log_tail()))

    def signal(self, signum):
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait_exit(self, timeout=10):
        """Exit status, or None if the process is still running after timeout s."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after timeout s. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def kill(self):
        """SIGKILL at once; returns the exit status (-9)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        return self.proc.returncode

    def restart(self, wait=True, timeout=15):
        self.stop()
        return self.start(wait=wait, timeout=timeout)

    def reload(self):
        return request("POST", self.url + "/-/reload")

    def sanitizer_report(self):
        """The first AddressSanitizer/UBSan/LeakSanitizer report in the log, or None."""
        logs = self.logs()
        for marker in SANITIZER_MARKERS:
            i = logs.find(marker)
            if i >= 0:
                return logs[max(0, i - 200):i + 3000]
        return None

    def cleanup(self):
        """Stops the process, removes the temp dir; raises AssertionError when the
        process printed a sanitizer report (make check), so no test passes over one."""
        report = None
        try:
            self.stop()
            report = self.sanitizer_report()
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            shutil.rmtree(self.dir, ignore_errors=True)
        if report is not None:
            raise AssertionError("%s printed a sanitizer report:\n%s" % (self.name, report))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


class Amrouter(_Daemon):
    """bin/amrouter on 127.0.0.1:PORT with its config and storage in a temp dir."""

    name = "amrouter"
    config_name = "amrouter.yml"

    def __init__(self, config, files=None, port=None, args=(), log_level="debug",
                 external_url=None, binary=None):
        self.log_level = log_level
        self.binary = binary or AMROUTER_BIN
        self.external_url = external_url
        super().__init__(config, files=files, port=port, args=args)

    def command(self):
        cmd = [self.binary,
               "--config.file=" + self.config_path,
               "--storage.path=" + self.storage_path,
               "--web.listen-address=127.0.0.1:%d" % self.port,
               "--web.external-url=" + (self.external_url or self.url),
               "--log.level=" + self.log_level]
        return cmd + self.args


class Alertmanager(_Daemon):
    """The real prometheus-alertmanager, clustering off, on 127.0.0.1:PORT."""

    name = "alertmanager"
    config_name = "alertmanager.yml"

    def command(self):
        return [ALERTMANAGER_BIN,
                "--cluster.listen-address=",
                "--web.listen-address=127.0.0.1:%d" % self.port,
                "--web.external-url=" + self.url,
                "--storage.path=" + self.storage_path,
                "--config.file=" + self.config_path,
                "--log.level=debug"] + self.args


# ---------------------------------------------------------------- webhook receiver

class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.time = time.monotonic()
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "Request(%s %s %r)" % (self.method, self.path, self.body[:200])


class _BigBacklogServer(http.server.ThreadingHTTPServer):
    # The default listen backlog (5) overflows when many groups flush at once;
    # the dropped SYN is retried a second later and skews notification timing.
    request_queue_size = 128


class WebhookReceiver:
    """Records every request; answers with scripted status codes (default 200)."""

    def __init__(self, statuses=None):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._requests = []
        self._statuses = statuses if callable(statuses) else list(statuses or [])
        self._server = None
        self._thread = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n > 0 else b""
                req = Request(self.command, self.path,
                              {k.lower(): v for k, v in self.headers.items()}, body)
                status = receiver._record(req)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = do_GET = do_PUT = do_DELETE = _handle

            def log_message(self, fmt, *args):
                pass

        self._handler = Handler

    def _record(self, req):
        with self._cond:
            self._requests.append(req)
            if callable(self._statuses):
                status = self._statuses(req)
            elif self._statuses:
                status = self._statuses.pop(0)
            else:
                status = 200
            self._cond.notify_all()
            return status

    def start(self):
        self._server = _BigBacklogServer(("127.0.0.1", 0), self._handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def url_for(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path.lstrip("/"))

    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    def clear(self):
        with self._lock:
            self._requests.clear()

    def wait_for(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("webhook: %d of %d requests after %gs: %r"
                                         % (len(self._requests), n, timeout, self._requests))
                self._cond.wait(left)
            return list(self._requests[:n])

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
