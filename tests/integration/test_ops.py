"""test_ops.py - lifecycle: graceful SIGTERM with a delivery in flight, online
backup (`amctl backup`) and restore round trip, `amctl audit`.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest

import harness
from harness import Amrouter, WebhookReceiver, post_alerts, request, wait_until

ADMIN = "admin-secret-0123456789a"

CONFIG = """\
route:
  receiver: hook
  group_wait: 0s
  group_interval: 1h
receivers:
- name: hook
  webhook_configs: [{url: '%s'}]
api:
  tokens:
  - {name: root, token: %s, scopes: [admin]}
"""

SIL = {"matchers": [{"name": "a", "value": "b", "isRegex": False}],
       "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z",
       "createdBy": "x", "comment": "before backup"}

AUTH = {"Authorization": "Bearer " + ADMIN}


def amctl(d, *args):
    return subprocess.run([harness.AMCTL_BIN, "--url", d.url, "--token", ADMIN, *args],
                          capture_output=True, text=True, timeout=30)


class LifecycleTest(unittest.TestCase):
    def test_sigterm_waits_for_delivery_in_flight(self):
        arrived = threading.Event()

        def slow(req):
            arrived.set()
            time.sleep(1.5)
            return 200
        hook = WebhookReceiver(statuses=slow)
        hook.start()
        self.addCleanup(hook.stop)
        d = Amrouter(CONFIG % (hook.url, ADMIN))
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(request("POST", d.url + "/api/v2/alerts",
                                 [{"labels": {"alertname": "Slow"}}], headers=AUTH).status, 200)
        self.assertTrue(arrived.wait(10), "the webhook was not called")
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        self.assertEqual(d.wait_exit(timeout=15), 0, d.logs())
        took = time.monotonic() - t0
        self.assertGreater(took, 0.5, "exited before the delivery in flight finished")
        self.assertIn("notification delivered", d.logs())
        # Delivered before exit, so the outbox is empty: no second delivery after a restart.
        n = len(hook.requests)
        d.start()
        time.sleep(1.0)
        self.assertEqual(len(hook.requests), n, "the delivered notification was sent again")

    def test_backup_restore_round_trip_and_audit(self):
        hook = WebhookReceiver()
        hook.start()
        self.addCleanup(hook.stop)
        d = Amrouter(CONFIG % (hook.url, ADMIN))
        self.addCleanup(d.cleanup)
        d.start()
        r = request("POST", d.url + "/api/v2/silences", SIL, headers=AUTH)
        self.assertEqual(r.status, 200, r.text)
        kept = r.json()["silenceID"]
        post_alerts_auth = request("POST", d.url + "/api/v2/alerts",
                                   [{"labels": {"alertname": "Kept"}}], headers=AUTH)
        self.assertEqual(post_alerts_auth.status, 200)

        backup = os.path.join(d.dir, "backup.db")
        # refused without the admin token
        out = subprocess.run([harness.AMCTL_BIN, "--url", d.url, "backup", backup],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("401", out.stderr)
        self.assertFalse(os.path.exists(backup))
        out = amctl(d, "backup", backup)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("backup written to", out.stdout)
        with open(backup, "rb") as f:
            self.assertEqual(f.read(16), b"SQLite format 3\x00")

        r = request("POST", d.url + "/api/v2/silences", dict(SIL, comment="after backup"),
                    headers=AUTH)
        lost = r.json()["silenceID"]

        out = amctl(d, "audit")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("silence.create", out.stdout)
        self.assertIn("backup", out.stdout)
        self.assertIn("root", out.stdout)
        d.signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP" in amctl(d, "audit", "--who", "SIGHUP").stdout, timeout=10,
                   what="the SIGHUP reload in the audit log")
        out = amctl(d, "-o", "json", "audit", "--limit", "1")
        self.assertEqual(len(json.loads(out.stdout)), 1, out.stdout)

        # restore: stop, replace the database, start
        self.assertEqual(d.stop(), 0)
        for suffix in ("", "-wal", "-shm"):
            p = os.path.join(d.storage_path, "amrouter.db" + suffix)
            if os.path.exists(p):
                os.unlink(p)
        shutil.copy(backup, os.path.join(d.storage_path, "amrouter.db"))
        d.start()
        ids = {s["id"] for s in request("GET", d.url + "/api/v2/silences", headers=AUTH).json()}
        self.assertIn(kept, ids)
        self.assertNotIn(lost, ids)
        alerts = request("GET", d.url + "/api/v2/alerts", headers=AUTH).json()
        self.assertEqual([a["labels"]["alertname"] for a in alerts], ["Kept"])


if __name__ == "__main__":
    unittest.main()


class AckLinkAuditTest(unittest.TestCase):
    def test_ack_link_is_audited_with_incident_and_name(self):
        hook = WebhookReceiver()
        hook.start()
        self.addCleanup(hook.stop)
        d = Amrouter(CONFIG % (hook.url, ADMIN))
        self.addCleanup(d.cleanup)
        d.start()
        request("POST", d.url + "/api/v2/alerts", [{"labels": {"alertname": "Link"}}],
                headers=AUTH)
        inc = hook.wait_for(1, timeout=10)[0].json["incident"]
        page = request("GET", inc["ack_url"]).text  # open: the link is the credential
        marker = 'name="csrf" value="'
        i = page.index(marker) + len(marker)
        csrf = page[i:page.index('"', i)]
        r = request("POST", inc["ack_url"], ("csrf=" + csrf + "&name=erin").encode(),
                    {"Content-Type": "application/x-www-form-urlencoded", "Origin": d.url})
        self.assertEqual(r.status, 200, r.text)
        log = request("GET", d.url + "/api/v2/audit", headers=AUTH).json()
        self.assertIn(("ack-link", "incident.ack", str(inc["id"]), "name=erin"),
                      {(e["who"], e["action"], e["target"], e["details"]) for e in log})
