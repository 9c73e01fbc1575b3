"""bench/fanout.py - the notification fan-out row of `make bench`: N alerts
(default 10,000), each with its own value of the label `group`, routed with
group_by [group] and group_wait 1s to one webhook receiver on 127.0.0.1, so
the server has N groups to flush about a second after ingest.

The receiver runs in its own process (asyncio, listen backlog 4096, so it is
not the bottleneck and shares no interpreter lock with the load generator)
and records the CLOCK_MONOTONIC time at which each notification's body has
fully arrived. Figures:
- last notification - (end of ingest + group_wait): how long after the last
  group was due the last notification arrived;
- per group: arrival - (the time its alert's POST was answered + group_wait),
  p50 and p99;
- groups notified / N, duplicates.

Invariants: the receiver process and the server are stopped by PID, also on
error; every wait is bounded.
"""
import asyncio
import json
import multiprocessing as mp
import os
import signal
import socket
import time

import common

GROUP_WAIT = 1.0

CONFIG = """global:
  resolve_timeout: 1h
route:
  receiver: hook
  group_by: [group]
  group_wait: 1s
  group_interval: 5m
  repeat_interval: 4h
receivers:
- name: hook
  webhook_configs:
  - url: http://127.0.0.1:%d/hook
    send_resolved: false
"""


def _receiver(sock, count, stop, pipe):
    recs = []

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = 0
                chunked = False
                for line in head.split(b"\r\n"):
                    k, _, v = line.partition(b":")
                    k = k.strip().lower()
                    if k == b"content-length":
                        n = int(v)
                    elif k == b"transfer-encoding" and b"chunked" in v.lower():
                        chunked = True
                if chunked:
                    body = b""
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                        body += await reader.readexactly(size + 2)
                        if size == 0:
                            break
                else:
                    body = await reader.readexactly(n)
                recs.append((time.monotonic(), body))
                count.value += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def serve():
        server = await asyncio.start_server(handle, sock=sock, backlog=4096,
                                            limit=1 << 24)
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.05)

    c0 = os.times()
    asyncio.run(serve())
    c1 = os.times()
    out = []
    for t, body in recs:
        try:
            p = json.loads(body)
            out.append((t, (p.get("groupLabels") or {}).get("group", ""),
                        len(p.get("alerts") or [])))
        except ValueError:
            out.append((t, "", 0))
    pipe.send((out, c1.user - c0.user + c1.system - c0.system))


class Receiver:
    """The webhook receiver process; .port, .count (notifications so far)."""

    def __init__(self):
        ctx = mp.get_context("fork")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]
        self.count = ctx.Value("l", 0, lock=False)
        self.stop_evt = ctx.Event()
        self.pipe, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_receiver, args=(self.sock, self.count,
                                                        self.stop_evt, child), daemon=True)
        self.proc.start()
        child.close()

    def finish(self, timeout=60):
        """Stops the receiver; returns ([(monotonic time, group, alerts)],
        the receiver's CPU seconds)."""
        self.stop_evt.set()
        try:
            if self.pipe.poll(timeout):
                return self.pipe.recv()
            return [], float("nan")
        finally:
            self.close()

    def close(self):
        self.stop_evt.set()
        self.proc.join(5)
        if self.proc.is_alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.join(5)
        self.sock.close()


def one_server(name, n, procs, timeout, log):
    rcv = Receiver()
    try:
        batch = 100
        # No startsAt: each server stamps its receipt time, and the group's
        # flush is due group_wait after that.
        bodies = common.alert_bodies(0, n, batch, extra=lambda i: ',"group":"g%07d"' % i,
                                     starts=None)
        reqs = common.requests_for(bodies)
        with common.fresh_server(name, CONFIG % rcv.port) as d:
            cpu0 = common.cpu_total(d.pid)
            r = common.post_requests(d.port, reqs, 8, procs)
            deadline = time.monotonic() + timeout
            while rcv.count.value < n and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5 if rcv.count.value >= n else 0)  # duplicates, if any
            cpu = common.cpu_total(d.pid) - cpu0
            recs, rcv_cpu = rcv.finish()
    finally:
        rcv.close()
    done_at = {}
    for idx, _ts, td in r["times"]:
        done_at[idx] = td
    first = {}
    for t, g, _k in recs:
        if g and g not in first:
            first[g] = t
    delays = []
    for g, t in first.items():
        try:
            i = int(g[1:])
        except ValueError:
            continue
        td = done_at.get(i // batch)
        if td is not None:
            delays.append(t - (td + GROUP_WAIT))
    delays.sort()
    last = max((t for t, _g, _k in recs), default=float("nan"))
    res = {"server": name, "groups": n, "notified": len(first),
           "notifications": len(recs), "duplicates": len(recs) - len(first),
           "ingest_s": r["seconds"],
           "last_after_due_s": last - (r["t_end"] + GROUP_WAIT),
           "p50_s": common.pct(delays, 50), "p99_s": common.pct(delays, 99),
           "server_cpu_s": cpu, "receiver_cpu_s": rcv_cpu,
           "receiver_busy": rcv_cpu / (last - r["t0"]) if recs else float("nan"),
           "error_count": r["error_count"], "errors": r["errors"][:3]}
    log(f"  {name:12s} {res['notified']:,}/{n:,} groups notified; last "
        f"{res['last_after_due_s']:.2f} s after end of ingest + group_wait; per group "
        f"p50 {res['p50_s']:.2f} s p99 {res['p99_s']:.2f} s; ingest {r['seconds']:.2f} s; "
        f"server CPU {cpu:.1f} s; receiver CPU {rcv_cpu:.1f} s")
    return res


def run(n, servers, procs, timeout=300, log=print):
    log(f"fan-out: {n:,} groups of one alert, group_wait 1s, one webhook receiver")
    return {s: one_server(s, n, procs, timeout, log) for s in servers}
