"""Shared pieces of the fault tests (tests/faults/test_*.py) and the soak.

    say(fmt, *args)          prints one line of the test's report ("  tried: ...")
    proc_stats(pid)          {"rss_kb", "fds", "threads"} of a running process
    FlakyReceiver(mode)      a webhook receiver whose behaviour can be switched
                             while it runs: "ok", "slow" (answers after
                             slow_seconds), "garbage" (non-HTTP bytes, then close),
                             "down" (listening socket closed; the port is kept and
                             reopened by set_mode("ok"))
    webhook_config(...)      a config with receivers pointing at given URLs
    group_names(requests)    the alertname of each webhook request's group

Every wait is bounded; every thread is a daemon thread; the receiver stops on stop().
"""
import json
import os
import socket
import threading
import time


def say(fmt, *args):
    print("    " + (fmt % args if args else fmt), flush=True)


def proc_stats(pid):
    """RSS (kB), open file descriptors and threads of pid, from /proc."""
    st = {"rss_kb": 0, "fds": 0, "threads": 0}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                st["rss_kb"] = int(line.split()[1])
            elif line.startswith("Threads:"):
                st["threads"] = int(line.split()[1])
    st["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return st


class FlakyReceiver:
    """A minimal HTTP/1.1 receiver on 127.0.0.1 whose behaviour is switchable.

    Every complete request (method, path, body, parsed JSON, time.monotonic() as
    "time" and time.time() as "wall") answered in mode "ok" or "slow" is
    recorded in .requests; the path is the URL's, so one receiver can stand for
    several (http://127.0.0.1:PORT/a, .../b); requests met in "garbage" mode are
    counted in .garbage_answers only, since the sender cannot have seen them
    delivered."""

    def __init__(self, mode="ok", slow_seconds=20.0):
        self.mode = mode
        self.slow_seconds = slow_seconds
        self.requests = []
        self.garbage_answers = 0
        self.refused_while_down = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = None
        self.port = None
        self._thread = None

    def _listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port or 0))
        s.listen(128)
        s.settimeout(0.1)
        self.port = s.getsockname()[1]
        self._sock = s

    def start(self):
        self._listen()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def set_mode(self, mode):
        with self._lock:
            old, self.mode = self.mode, mode
            if mode == "down" and self._sock is not None:
                self._sock.close()
                self._sock = None
            elif old == "down" and mode != "down":
                self._listen()

    def _accept_loop(self):
        while not self._stop.is_set():
            with self._lock:
                s = self._sock
            if s is None:
                time.sleep(0.05)
                continue
            try:
                conn, _ = s.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, f):
        line = f.readline(65536)
        if not line:
            return None
        method, path = line.decode("latin-1").split()[:2]
        headers = {}
        while True:
            h = f.readline(65536).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length") or 0)
        body = f.read(n) if n else b""
        return method, path, headers, body

    def _serve(self, conn):
        conn.settimeout(60)
        try:
            f = conn.makefile("rb")
            while not self._stop.is_set():
                req = self._read_request(f)
                if req is None:
                    return
                mode = self.mode
                if mode == "garbage":
                    with self._lock:
                        self.garbage_answers += 1
                    conn.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n" + os.urandom(64))
                    return
                if mode == "slow":
                    self._stop.wait(self.slow_seconds)
                method, path, headers, body = req
                try:
                    doc = json.loads(body.decode("utf-8")) if body else None
                except ValueError:
                    doc = None
                with self._lock:
                    self.requests.append({"method": method, "path": path, "json": doc,
                                          "time": time.monotonic(), "wall": time.time(),
                                          "mode": mode})
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                             b"Content-Type: text/plain\r\n\r\nok")
        except (OSError, ValueError):
            return
        finally:
            conn.close()

    def groups(self):
        """alertname of every recorded request's group (one per request)."""
        with self._lock:
            reqs = list(self.requests)
        return [group_name(r["json"]) for r in reqs]

    def stop(self):
        self._stop.set()
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
        if self._thread is not None:
            self._thread.join(timeout=5)


def group_name(doc):
    """The alertname a webhook payload's group is about (group_by: [alertname])."""
    if not isinstance(doc, dict):
        return None
    return (doc.get("groupLabels") or {}).get("alertname")


def webhook_config(receivers, group_wait="200ms", group_interval="2s",
                   repeat_interval="1h", timeout=None):
    """A config routing every alert (group_by alertname) to each named receiver.
    receivers: list of (name, url). With more than one, every receiver gets every
    group (child routes with continue: true). timeout: http_config timeout."""
    http = ""
    if timeout:
        http = "    http_config:\n      timeout: %s\n      connect_timeout: 1s\n" % timeout
    lines = ["route:",
             "  receiver: %s" % receivers[0][0],
             "  group_by: [alertname]",
             "  group_wait: %s" % group_wait,
             "  group_interval: %s" % group_interval,
             "  repeat_interval: %s" % repeat_interval]
    if len(receivers) > 1:
        lines.append("  routes:")
        for name, _ in receivers:
            lines += ["  - receiver: %s" % name, "    continue: true"]
    lines.append("receivers:")
    for name, url in receivers:
        lines += ["- name: %s" % name, "  webhook_configs:", "  - url: %s" % url,
                  "    send_resolved: false"]
        if http:
            lines.append(http.rstrip("\n"))
    return "\n".join(lines) + "\n"
