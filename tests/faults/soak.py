#!/usr/bin/env python3
"""Soak: mixed traffic against one daemon for SECONDS, watching for growth.

    /usr/bin/python3 tests/faults/soak.py [SECONDS]     (make soak SOAK_SECONDS=600)

Traffic, all bounded by the time given: batches of 10 alerts drawn from a fixed
pool of 900 series (new, updated and resolved ones), silences created, updated
and expired, GET alerts / alert groups / silences, and a webhook receiver
taking every notification (group_interval 1s so groups re-notify). Retention is
short (20s) so garbage collection runs during the soak too.

Every SECONDS/20 (at least 1 s) it prints the daemon's RSS, open file
descriptors, threads, and the SQLite file's page count and freelist, plus the
WAL size. At the end the mean of the last third of the samples is compared to
the first third: RSS may grow by at most 50% + 16 MiB, file descriptors by 16,
threads by 8, and pages in use (less the audit table's, which grows by one
row per write request until its 90-day retention) by 50% + 256 pages. Nothing
grows without bound under a steady load, so a leak shows as a failure. Exit status 0 when all hold.
Needs AMROUTER_BIN (else bin/amrouter).
"""
import os
import random
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from faultlib import FlakyReceiver, proc_stats, webhook_config  # noqa: E402

CONFIG_EXTRA = "retention:\n  alerts: 20s\n  silences: 20s\n  incidents: 20s\n"


def db_rows(path):
    """{table: row count} of the SQLite file, read-only ({} when unreadable)."""
    try:
        c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        try:
            tables = [r[0] for r in c.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: c.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0] for t in tables}
        finally:
            c.close()
    except sqlite3.Error:
        return {}


def db_pages(path):
    """(page_count, freelist_count, audit_pages) of the SQLite file, read-only.
    audit_pages are the pages of the audit table and its index (from the
    dbstat table), which grow by one row per write request until
    retention.audit (90 days by default) deletes them: by design, so they
    are shown but left out of the growth check."""
    try:
        c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        try:
            pc = c.execute("PRAGMA page_count").fetchone()[0]
            fl = c.execute("PRAGMA freelist_count").fetchone()[0]
            au = c.execute("SELECT count(*) FROM dbstat WHERE name IN "
                           "(SELECT name FROM sqlite_master WHERE tbl_name = 'audit')"
                           ).fetchone()[0]
            return pc, fl, au
        finally:
            c.close()
    except sqlite3.Error:
        return None, None, None


class Traffic(threading.Thread):
    def __init__(self, url, seed, kind):
        super().__init__(daemon=True)
        self.url, self.rnd, self.kind = url, random.Random(seed), kind
        self.stop = threading.Event()
        self.counts = {}
        self.bad = []

    def count(self, what, status):
        self.counts[what] = self.counts.get(what, 0) + 1
        if status >= 300 and len(self.bad) < 20:
            self.bad.append((what, status))

    def run(self):
        sils = []
        while not self.stop.is_set():
            try:
                if self.kind == "alerts":
                    batch = []
                    for _ in range(10):
                        i = self.rnd.randrange(900)
                        ends = time.time() + (600 if self.rnd.random() < 0.8 else -1)
                        batch.append(harness.alert("Soak%d" % (i % 300),
                                                   labels={"instance": "i%d" % (i // 300)},
                                                   annotations={"n": str(self.rnd.random())},
                                                   ends_at=ends))
                    r = harness.post_alerts(self.url, batch, timeout=30)
                    self.count("post_alerts", r.status)
                elif self.kind == "silences":
                    body = {"matchers": [{"name": "alertname", "value": "Soak%d" %
                                          self.rnd.randrange(300), "isRegex": False}],
                            "startsAt": harness.rfc3339(),
                            "endsAt": harness.rfc3339(time.time() + 30),
                            "createdBy": "soak", "comment": "c%f" % self.rnd.random()}
                    if sils and self.rnd.random() < 0.3:
                        body["id"] = self.rnd.choice(sils)
                    r = harness.post_json(self.url + "/api/v2/silences", body, timeout=30)
                    self.count("post_silence", r.status)
                    if r.status == 200:
                        sils.append(r.json()["silenceID"])
                    if len(sils) > 20:
                        sid = sils.pop(0)
                        r = harness.request("DELETE", self.url + "/api/v2/silence/" + sid,
                                            timeout=30)
                        self.count("expire_silence", r.status)
                    self.stop.wait(0.05)
                else:
                    for path in ("/api/v2/alerts", "/api/v2/alerts/groups", "/api/v2/silences"):
                        r = harness.request("GET", self.url + path, timeout=30)
                        self.count("get", r.status)
                    self.stop.wait(0.1)
            except OSError as e:
                self.count("error " + type(e).__name__, 599)
                self.stop.wait(0.2)


def mean(v):
    return sum(v) / len(v) if v else 0.0


def soak(seconds, out=print):
    """Runs the soak; returns (ok, list of failure sentences)."""
    rcv = FlakyReceiver().start()
    d = harness.Amrouter(webhook_config([("hook", rcv.url)], group_wait="100ms",
                                        group_interval="1s", repeat_interval="5s") + CONFIG_EXTRA,
                         log_level="warn")
    traffic = []
    samples = []
    rows_first = rows_last = None
    try:
        d.start()
        db = os.path.join(d.storage_path, "amrouter.db")
        traffic = [Traffic(d.url, 1, "alerts"), Traffic(d.url, 2, "alerts"),
                   Traffic(d.url, 3, "silences"), Traffic(d.url, 4, "reads")]
        for t in traffic:
            t.start()
        interval = max(1.0, seconds / 20.0)
        t0 = time.monotonic()
        out("soak: %ds of mixed traffic, a sample every %.0fs" % (seconds, interval))
        out("%7s %9s %5s %7s %8s %8s %8s %9s" % ("t(s)", "rss(kB)", "fds", "threads", "pages",
                                                   "free", "audit", "wal(kB)"))
        while True:
            now = time.monotonic() - t0
            if not d.running:
                return False, ["the daemon exited: %s" % d.logs()[-2000:]]
            st = proc_stats(d.pid)
            pc, fl, au = db_pages(db)
            try:
                wal = os.path.getsize(db + "-wal") // 1024
            except OSError:
                wal = 0
            samples.append({"t": now, "rss": st["rss_kb"], "fds": st["fds"],
                            "threads": st["threads"],
                            "pages": (pc or 0) - (fl or 0) - (au or 0)})
            out("%7.0f %9d %5d %7d %8s %8s %8s %9d" % (now, st["rss_kb"], st["fds"],
                                                       st["threads"], pc, fl, au, wal))
            if rows_first is None and now >= seconds / 3.0:
                rows_first = db_rows(db)
            if now >= seconds:
                rows_last = db_rows(db)
                break
            time.sleep(min(interval, max(0.1, seconds - now)))
    finally:
        for t in traffic:
            t.stop.set()
        for t in traffic:
            t.join(timeout=35)
        rcv.stop()
        d.cleanup()

    counts = {}
    bad = []
    for t in traffic:
        for k, v in t.counts.items():
            counts[k] = counts.get(k, 0) + v
        bad += t.bad
    out("requests: %s; notifications received: %d" % (
        ", ".join("%s %d" % kv for kv in sorted(counts.items())), len(rcv.requests)))
    if rows_first and rows_last:
        # Informational: which tables grew between a third of the way and the end.
        out("rows at t=%ds -> end: %s" % (seconds // 3, ", ".join(
            "%s %d->%d" % (t, rows_first.get(t, 0), n) for t, n in sorted(rows_last.items()))))
    fails = []
    if bad:
        fails.append("requests answered non-2xx or failed: %r" % bad[:10])
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    limits = {"rss": lambda a: a * 1.5 + 16 * 1024, "fds": lambda a: a + 16,
              "threads": lambda a: a + 8, "pages": lambda a: a * 1.5 + 256}
    # Under AddressSanitizer (make check sets ASAN_OPTIONS) freed memory sits in a
    # quarantine of up to 256 MiB, so RSS grows by design: reported, not judged.
    asan = "ASAN_OPTIONS" in os.environ
    for key, lim in limits.items():
        a, b = mean([s[key] for s in first]), mean([s[key] for s in last])
        verdict = "ok" if b <= lim(a) else "GROWS"
        if key == "rss" and asan:
            verdict = "not judged (ASan quarantine)"
        out("%-8s first third %10.0f  last third %10.0f  limit %10.0f  %s" % (key, a, b, lim(a),
                                                                              verdict))
        if verdict == "GROWS":
            fails.append("%s grew from %.0f to %.0f (limit %.0f)" % (key, a, b, lim(a)))
    if len(rcv.requests) == 0:
        fails.append("no notification was delivered")
    return not fails, fails


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    ok, fails = soak(seconds)
    for f in fails:
        print("soak: FAILED: " + f)
    print("soak: %s" % ("passed" if ok else "failed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
