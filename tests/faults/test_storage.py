"""The database locked by another process, and the disk full.

Verified for each: a request that cannot be committed is answered 503 with
Retry-After; nothing is half-written (a rejected batch of alerts is either
wholly present or wholly absent, and every batch answered 200 is present, also
after a restart); the database passes PRAGMA integrity_check; and the daemon
recovers by itself once the lock is released or the disk has room again.
The disk-full test mounts a small tmpfs (needs root and mount(2) in the
sandbox) and is skipped with the reason otherwise.
"""
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from faultlib import FlakyReceiver, say, webhook_config


def batch(tag, i, n=5, pad=0):
    return [harness.alert("%s_%d" % (tag, i), labels={"k": str(k)},
                          annotations={"pad": "x" * pad} if pad else None,
                          ends_at=time.time() + 3600) for k in range(n)]


class StorageFaultTest(unittest.TestCase):
    def start_daemon(self):
        rcv = FlakyReceiver().start()
        self.addCleanup(rcv.stop)
        d = harness.Amrouter(webhook_config([("hook", rcv.url)]), log_level="info")
        self.addCleanup(d.cleanup)
        return d

    def present_names(self, d):
        st, alerts = harness.get_json(d.url + "/api/v2/alerts", timeout=30)
        self.assertEqual(st, 200)
        names = {}
        for a in alerts:
            n = a["labels"]["alertname"]
            names[n] = names.get(n, 0) + 1
        return names

    def check_whole(self, d, ok, rejected, per_batch):
        names = self.present_names(d)
        for n in ok:
            self.assertEqual(names.get(n), per_batch, "batch %s answered 200: %r" % (n, names.get(n)))
        half = [n for n in rejected if names.get(n, 0) not in (0, per_batch)]
        self.assertEqual(half, [], "half-written batches")
        return sum(1 for n in rejected if names.get(n))

    def integrity(self, d):
        db = os.path.join(d.storage_path, "amrouter.db")
        c = sqlite3.connect(db)
        try:
            (res,) = c.execute("PRAGMA integrity_check").fetchone()
        finally:
            c.close()
        self.assertEqual(res, "ok")

    def test_database_locked(self):
        print()
        d = self.start_daemon()
        d.start()
        ok, rejected = [], []
        r = harness.post_alerts(d.url, batch("Lock", 0))
        self.assertEqual(r.status, 200, r.text)
        ok.append("Lock_0")
        db = os.path.join(d.storage_path, "amrouter.db")
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3,sys\n"
             "c=sqlite3.connect(sys.argv[1],isolation_level=None,timeout=10)\n"
             "c.execute('BEGIN IMMEDIATE')\n"
             "print('locked',flush=True)\n"
             "sys.stdin.read()\n", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: holder.poll() is None and holder.kill())
        self.assertEqual(holder.stdout.readline().strip(), "locked")
        say("tried: another process (pid %d) holds SQLite's write lock on amrouter.db",
            holder.pid)
        t0 = time.monotonic()
        r = harness.post_alerts(d.url, batch("Lock", 1), timeout=30)
        took = time.monotonic() - t0
        say("POST alerts while locked: %d after %.1fs, Retry-After %r, body %r", r.status, took,
            r.headers.get("retry-after"), r.text[:120])
        self.assertEqual(r.status, 503, r.text)
        self.assertIn("retry-after", r.headers)
        rejected.append("Lock_1")
        r = harness.post_json(d.url + "/api/v2/silences", {
            "matchers": [{"name": "a", "value": "b", "isRegex": False}],
            "startsAt": harness.rfc3339(), "endsAt": harness.rfc3339(time.time() + 600),
            "createdBy": "faults", "comment": "while locked"}, timeout=30)
        say("POST silence while locked: %d, Retry-After %r", r.status, r.headers.get("retry-after"))
        self.assertEqual(r.status, 503, r.text)
        self.assertIn("retry-after", r.headers)

        holder.stdin.close()
        holder.wait(timeout=10)
        say("lock released")
        r = harness.post_alerts(d.url, batch("Lock", 2), timeout=30)
        self.assertEqual(r.status, 200, r.text)
        ok.append("Lock_2")
        n_rej = self.check_whole(d, ok, rejected, 5)
        st, sils = harness.get_json(d.url + "/api/v2/silences")
        self.assertEqual([s for s in sils if s["comment"] == "while locked"], [])
        say("verified: recovered (POST 200 after release); batches answered 200 whole, "
            "the rejected batch %s, the rejected silence absent",
            "absent" if n_rej == 0 else "present whole")
        d.kill()
        d.start()
        self.check_whole(d, ok, rejected, 5)
        d.stop()
        self.integrity(d)
        say("verified: same after kill -9 + restart; PRAGMA integrity_check ok")

    def test_disk_full(self):
        print()
        if os.geteuid() != 0:
            self.skipTest("disk full needs root to mount a small tmpfs")
        d = self.start_daemon()
        mnt = d.storage_path
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs in this sandbox: %s" % r.stderr.strip())

        def unmount():
            d.stop()
            subprocess.run(["umount", mnt], capture_output=True)
        self.addCleanup(unmount)
        d.start()
        ok, rejected = [], []
        r = harness.post_alerts(d.url, batch("Full", -1, n=10, pad=2000), timeout=30)
        self.assertEqual(r.status, 200, r.text)
        ok.append("Full_-1")
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        say("tried: storage on a 2 MiB tmpfs, filled with a filler file (%d kB) until ENOSPC",
            os.path.getsize(filler) // 1024)
        got503 = None
        for i in range(300):
            r = harness.post_alerts(d.url, batch("Full", i, n=10, pad=2000), timeout=30)
            if r.status == 200:
                ok.append("Full_%d" % i)
            else:
                got503 = r
                rejected.append("Full_%d" % i)
                break
        self.assertIsNotNone(got503, "300 batches of 20 kB fitted on a full 2 MiB disk?")
        say("after %d batches answered 200: %d, Retry-After %r, body %r", len(ok), got503.status,
            got503.headers.get("retry-after"), got503.text[:120])
        self.assertEqual(got503.status, 503)
        self.assertIn("retry-after", got503.headers)
        r = harness.post_alerts(d.url, batch("Full", 1000, n=10, pad=2000), timeout=30)
        self.assertEqual(r.status, 503, "a second write on the full disk: %r" % r)
        rejected.append("Full_1000")
        self.assertTrue(d.running, "the daemon died on a full disk")
        self.check_whole(d, ok, rejected, 10)
        say("verified: still running and answering reads; batches answered 200 whole, "
            "rejected ones whole or absent")

        os.unlink(filler)
        say("filler removed")
        r = harness.post_alerts(d.url, batch("Full", 2000, n=10, pad=2000), timeout=30)
        self.assertEqual(r.status, 200, "no recovery after the disk freed: %r" % r)
        ok.append("Full_2000")
        self.check_whole(d, ok, rejected, 10)
        d.kill()
        d.start()
        self.check_whole(d, ok, rejected, 10)
        d.stop()
        self.integrity(d)
        say("verified: recovered once the disk freed; after kill -9 + restart every batch "
            "answered 200 present, integrity_check ok")


if __name__ == "__main__":
    unittest.main()
