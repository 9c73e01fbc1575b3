"""bench/common.py - what every row of `make bench` shares: fresh servers on
loopback, pre-encoded alert bodies, a multi-process HTTP load generator that
measures its own CPU, and /proc readings of the server.

Invariants:
- Only 127.0.0.1 is used. Every server is started in its own temporary
  directory (tests/integration/harness.py) and stopped by its PID, also on an
  exception or Ctrl-C (`fresh_server` is a context manager; SIGTERM is turned
  into KeyboardInterrupt by `install_sigterm`).
- Request bodies are encoded before the clock starts; the load generator's
  processes only write pre-built bytes and parse status lines.
- Every client process and every wait is bounded in time (socket timeouts, a
  deadline on the whole run); client processes are stopped by PID.

Ownership: `post_requests` owns the client processes it forks and joins or
kills them before returning. `fresh_server` owns the server object and its
temporary directory.
"""
import contextlib
import datetime
import multiprocessing as mp
import os
import platform
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import harness  # noqa: E402
from sbs_harness import Alertmanager as _SbsAlertmanager  # noqa: E402
from sbs_harness import Amrouter as _SbsAmrouter  # noqa: E402
from sbs_harness import amrouter_runnable  # noqa: E402,F401

ALERTMANAGER_BIN = harness.ALERTMANAGER_BIN
SERVERS = ("alertmanager", "amrouter")


class Alertmanager(_SbsAlertmanager):
    """Alertmanager at log level info (the harness's debug level logs every
    alert, which would charge Alertmanager for logging amrouter does not do)."""

    def command(self):
        return [ALERTMANAGER_BIN, "--cluster.listen-address=",
                "--web.listen-address=127.0.0.1:%d" % self.port,
                "--web.external-url=" + self.url,
                "--storage.path=" + self.storage_path,
                "--config.file=" + self.config_path, "--log.level=info"] + self.args


class Amrouter(_SbsAmrouter):
    pass


CLASSES = {"alertmanager": Alertmanager, "amrouter": Amrouter}


def install_sigterm():
    """SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C so that every
    `finally` stops its servers."""
    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)


@contextlib.contextmanager
def fresh_server(name, config, timeout=60):
    """A freshly started server (new temp dir) that is stopped by PID and
    whose temp dir is removed when the block ends, however it ends."""
    d = CLASSES[name](config)
    try:
        d.start(timeout=timeout)
        yield d
    finally:
        d.cleanup()


# ------------------------------------------------------------------ alerts

def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


# One alert as JSON. % formatting of a template is about ten times quicker than
# json.dumps of a dict, so a million alerts take a couple of seconds to build.
ALERT_TPL = ('{"labels":{"alertname":"Bench%d","job":"bench","instance":"host-%07d:9100",'
             '"severity":"%s"%s},"annotations":{"summary":"bench alert %d",'
             '"description":"synthetic load from bench/"},"startsAt":"%s",'
             '"generatorURL":"http://bench.invalid/graph?g0.expr=up%%7Bi%%3D%d%%7D"}')


# The same without startsAt: the server stamps the time it received the alert.
ALERT_TPL_NOW = ALERT_TPL.replace('"startsAt":"%s",', '')


def alert_json(i, starts, extra=""):
    """Alert number i (distinct labels per i). extra: more label members,
    e.g. ',"group":"g0000001"'. starts None: no startsAt."""
    if starts is None:
        return ALERT_TPL_NOW % (i % 10, i, "critical" if i % 7 == 0 else "warning", extra,
                                i, i)
    return ALERT_TPL % (i % 10, i, "critical" if i % 7 == 0 else "warning", extra, i,
                        starts, i)


def alert_bodies(first, n, batch, extra=None, starts="now"):
    """JSON array bodies (bytes) holding alerts first..first+n-1, `batch` per
    body. extra(i) -> extra label members for alert i. starts: "now" (the
    time of the call), an RFC 3339 string, or None (no startsAt)."""
    if starts == "now":
        starts = rfc3339(time.time())
    out = []
    for b in range(first, first + n, batch):
        end = min(first + n, b + batch)
        if extra is None and starts is not None:
            items = [ALERT_TPL % (i % 10, i, "critical" if i % 7 == 0 else "warning", "", i,
                                  starts, i) for i in range(b, end)]
        else:
            items = [alert_json(i, starts, extra(i) if extra else "") for i in range(b, end)]
        out.append(("[" + ",".join(items) + "]").encode())
    return out


def silence_bodies(n, hours=24):
    """n silences, silence i matching instance="host-i" (the alert i above)."""
    now = time.time()
    s, e = rfc3339(now - 60), rfc3339(now + hours * 3600)
    tpl = ('{"matchers":[{"name":"instance","value":"host-%07d:9100","isRegex":false,'
           '"isEqual":true}],"startsAt":"' + s + '","endsAt":"' + e + '",'
           '"createdBy":"bench","comment":"bench silence %d"}')
    return [(tpl % (i, i)).encode() for i in range(n)]


def requests_for(bodies, path="/api/v2/alerts"):
    """Complete HTTP/1.1 POST requests (keep-alive) for each body."""
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: " % path).encode()
    return [head + str(len(b)).encode() + b"\r\n\r\n" + b for b in bodies]


# ------------------------------------------------------------------ load generator

_CL = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:\s*chunked", re.I)


def _response_end(buf):
    """Index just past the first complete HTTP response in buf, or -1."""
    h = buf.find(b"\r\n\r\n")
    if h < 0:
        return -1
    head = buf[:h + 2]
    m = _CL.search(head)
    if m:
        end = h + 4 + int(m.group(1))
        return end if len(buf) >= end else -1
    if _CHUNKED.search(head):
        z = buf.find(b"\r\n0\r\n\r\n", h)
        if z < 0 and buf[h + 4:h + 9] == b"0\r\n\r\n":
            return h + 9
        return z + 7 if z >= 0 else -1
    return h + 4


def _connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _client(port, reqs, conn_ids, nconns, deadline, go, pipe):
    """One client process: connections conn_ids, connection k sends requests
    k, k+nconns, ... one after the other (keep-alive, next as soon as the
    answer came). Sends back (latencies, per-request (idx, t_send, t_done),
    errors, cpu user, cpu sys, t_end)."""
    sel = selectors.DefaultSelector()
    lat = []
    times = []
    errors = []
    try:
        st = {}
        for k in conn_ids:
            if k >= len(reqs):
                continue
            s = _connect(port)
            st[k] = {"sock": s, "next": k, "buf": b"", "t": 0.0}
        pipe.send("ready")
        go.wait(60)
        c0 = os.times()

        def send(k):
            c = st[k]
            c["t"] = time.monotonic()
            c["buf"] = b""
            c["sock"].sendall(reqs[c["next"]])

        for k in list(st):
            send(k)
            sel.register(st[k]["sock"], selectors.EVENT_READ, k)
        while st:
            if time.monotonic() > deadline:
                errors.append("deadline passed with %d connections busy" % len(st))
                break
            for key, _ in sel.select(timeout=1.0):
                k = key.data
                c = st[k]
                try:
                    data = c["sock"].recv(65536)
                except OSError as e:
                    data = None
                    err = repr(e)
                if not data:
                    errors.append("request %d: connection closed (%s)" % (
                        c["next"], err if data is None else "EOF"))
                    sel.unregister(c["sock"])
                    c["sock"].close()
                    c["next"] += nconns
                    if c["next"] >= len(reqs):
                        del st[k]
                        continue
                    c["sock"] = _connect(port)
                    send(k)
                    sel.register(c["sock"], selectors.EVENT_READ, k)
                    continue
                c["buf"] += data
                end = _response_end(c["buf"])
                if end < 0:
                    continue
                t = time.monotonic()
                lat.append(t - c["t"])
                times.append((c["next"], c["t"], t))
                status = c["buf"][9:12]
                if status[:1] != b"2":
                    errors.append("request %d: HTTP %s %r" % (
                        c["next"], status.decode(errors="replace"), c["buf"][:300]))
                c["next"] += nconns
                if c["next"] >= len(reqs):
                    sel.unregister(c["sock"])
                    c["sock"].close()
                    del st[k]
                else:
                    send(k)
        c1 = os.times()
        pipe.send((lat, times, errors[:20], len(errors), c1.user - c0.user,
                   c1.system - c0.system, time.monotonic()))
    except BaseException as e:  # report anything to the parent, never hang it
        try:
            pipe.send(([], [], ["client process: %r" % e], 1, 0.0, 0.0, time.monotonic()))
        except OSError:
            pass


def post_requests(port, reqs, conns, procs=2, timeout=600):
    """Sends every request in `reqs` over `conns` keep-alive connections spread
    over `procs` client processes. Returns a dict: seconds (wall, first send
    to last answer), lat (sorted seconds), times (idx, t_send, t_done;
    monotonic), errors, error_count, client_cpu_s (user+sys of all client
    processes), client_busy (highest share of one core any client process
    used: near 1.0 means the load generator may have been the bottleneck)."""
    procs = max(1, min(procs, conns))
    ctx = mp.get_context("fork")
    go = ctx.Event()
    deadline = time.monotonic() + timeout
    children = []
    try:
        for p in range(procs):
            ids = list(range(p, conns, procs))
            a, b = ctx.Pipe(duplex=False)
            pr = ctx.Process(target=_client, args=(port, reqs, ids, conns, deadline, go, b),
                             daemon=True)
            pr.start()
            b.close()
            children.append((pr, a))
        for pr, a in children:
            if not a.poll(60):
                raise RuntimeError("client process %d did not connect" % pr.pid)
            msg = a.recv()
            if msg != "ready":
                raise RuntimeError("client process %d: %r" % (pr.pid, msg))
        t0 = time.monotonic()
        go.set()
        res = {"lat": [], "times": [], "errors": [], "error_count": 0, "client_cpu_s": 0.0,
               "client_busy": 0.0}
        t_end = t0
        outs = []
        for pr, a in children:
            left = max(1.0, deadline - time.monotonic() + 30)
            if not a.poll(left):
                raise RuntimeError("client process %d gave no result" % pr.pid)
            outs.append(a.recv())
        for lat, times, errs, nerr, cu, cs, te in outs:
            res["lat"] += lat
            res["times"] += times
            res["errors"] += errs
            res["error_count"] += nerr
            res["client_cpu_s"] += cu + cs
            t_end = max(t_end, te)
        wall = t_end - t0
        for lat, times, errs, nerr, cu, cs, te in outs:
            if wall > 0:
                res["client_busy"] = max(res["client_busy"], (cu + cs) / wall)
        res["lat"].sort()
        res["seconds"] = wall
        res["t0"] = t0
        res["t_end"] = t_end
        return res
    finally:
        for pr, a in children:
            pr.join(5)
            if pr.is_alive():
                os.kill(pr.pid, signal.SIGKILL)
                pr.join(5)
            a.close()


def pct(sorted_vals, p):
    """The p-th percentile (nearest rank) of an ascending list, NaN if empty."""
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


# ------------------------------------------------------------------ server readings

def cpu_seconds(pid):
    """(user, system) CPU seconds the process has used, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def cpu_total(pid):
    u, s = cpu_seconds(pid)
    return u + s


def settled_cpu(pid, quiet=0.3, limit=5.0):
    """cpu_total(pid) once the process has stopped using CPU for `quiet`
    seconds (work it deferred past its answers, e.g. grouping on another
    thread, is counted), waiting at most `limit` seconds."""
    deadline = time.monotonic() + limit
    last = cpu_total(pid)
    still = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = cpu_total(pid)
        if now > last:
            last, still = now, time.monotonic()
        elif time.monotonic() - still >= quiet:
            break
    return last


def rss_kib(pid):
    """(VmRSS, VmHWM) in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def http_get(port, path, timeout=300):
    """(status, body bytes) of GET path on 127.0.0.1:port."""
    s = _connect(port)
    try:
        s.settimeout(timeout)
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                   % path).encode())
        buf = b""
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            buf += d
            end = _response_end(buf)
            if end >= 0 and b"content-length" in buf[:buf.find(b"\r\n\r\n")].lower():
                buf = buf[:end]
                break
    finally:
        s.close()
    h = buf.find(b"\r\n\r\n")
    body = buf[h + 4:]
    if _CHUNKED.search(buf[:h + 2]):
        out, i = b"", 0
        while True:
            j = body.find(b"\r\n", i)
            n = int(body[i:j].split(b";")[0], 16)
            if n == 0:
                break
            out += body[j + 2:j + 2 + n]
            i = j + 2 + n + 2
        body = out
    return int(buf[9:12]), body


_METRIC = re.compile(rb"^(?:alertmanager|amrouter)_alerts\{state=\"(\w+)\"\}\s+([0-9.e+]+)$",
                     re.M)


def count_alerts(port):
    """Alerts the server holds (firing, any state), from /metrics
    (alertmanager_alerts / amrouter_alerts gauges summed over states). Both
    servers count without building the alert list, so this is cheap."""
    status, body = http_get(port, "/metrics")
    if status != 200:
        return -1
    return int(sum(float(v) for _, v in _METRIC.findall(body)))


def count_silences(port):
    import json
    status, body = http_get(port, "/api/v2/silences")
    if status != 200:
        return -1
    return sum(1 for s in json.loads(body) if s.get("status", {}).get("state") == "active")


def ready_now(port):
    """True when GET /-/ready answers 200 right now."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return False
    try:
        s.settimeout(2)
        s.sendall(b"GET /-/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        d = s.recv(64)
        return d[9:12] == b"200"
    except OSError:
        return False
    finally:
        s.close()


# ------------------------------------------------------------------ machine

def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) // 1024 // 1024
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM, Linux {platform.release()}"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return float("nan")


def version_of(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        out = (p.stdout or p.stderr).strip().splitlines()
        return out[0] if out and p.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
