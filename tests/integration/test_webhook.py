"""Webhook delivery end to end: amrouter -> a local receiver on loopback.

Checks Alertmanager's version 4 payload (fields, field order, firing endsAt,
groupKey, externalURL), the headers (Content-Type, User-Agent, basic and bearer
auth from http_config), max_alerts truncation, resolved notifications, and the
retry rules of the delivery thread: 500, 500, 200 gives exactly three attempts;
a 400 is not retried; a 429 is.
"""
import base64
import time
import unittest

import harness
from harness import Amrouter, WebhookReceiver, post_alerts, wait_until

PAYLOAD_KEYS = ["receiver", "status", "alerts", "groupLabels", "commonLabels",
                "commonAnnotations", "externalURL", "version", "groupKey", "truncatedAlerts"]
ALERT_KEYS = ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
              "fingerprint"]


def config(url, extra="", group_wait="200ms", group_interval="1s"):
    return """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
%s
""" % (group_wait, group_interval, url, extra)


class WebhookTest(unittest.TestCase):
    def start(self, statuses=None, extra="", group_interval="1s"):
        r = WebhookReceiver(statuses=statuses).start()
        self.addCleanup(r.stop)
        d = Amrouter(config(r.url_for("/hook"), extra, group_interval=group_interval))
        self.addCleanup(d.cleanup)
        d.start()
        return r, d

    def test_payload_headers_basic_auth_and_truncation(self):
        r, d = self.start(extra="        max_alerts: 2\n"
                                "        http_config:\n"
                                "          basic_auth: {username: alice, password: s3cret}\n")
        alerts = [harness.alert("W", {"instance": "i%d" % i, "job": "j"},
                                annotations={"summary": "s"},
                                generator_url="http://prom/g%d" % i) for i in range(3)]
        self.assertEqual(post_alerts(d.url, alerts).status, 200)
        req = r.wait_for(1, timeout=10)[0]
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.path, "/hook")
        self.assertEqual(req.headers.get("content-type"), "application/json")
        self.assertTrue(req.headers.get("user-agent", "").startswith("Alertmanager/"),
                        req.headers)
        self.assertEqual(req.headers.get("authorization"),
                         "Basic " + base64.b64encode(b"alice:s3cret").decode())
        p = req.json
        # Alertmanager's fields in its order; amrouter may append its own after them
        # (the `incident` object of issue 6).
        self.assertEqual(list(p.keys())[:len(PAYLOAD_KEYS)], PAYLOAD_KEYS)
        self.assertEqual(p["receiver"], "hook")
        self.assertEqual(p["status"], "firing")
        self.assertEqual(p["version"], "4")
        self.assertEqual(p["groupKey"], '{}:{alertname="W"}')
        self.assertEqual(p["groupLabels"], {"alertname": "W"})
        self.assertEqual(p["commonLabels"], {"alertname": "W", "job": "j"})
        self.assertEqual(p["commonAnnotations"], {"summary": "s"})
        self.assertEqual(p["externalURL"], d.url)
        self.assertEqual(p["truncatedAlerts"], 1)
        self.assertEqual(len(p["alerts"]), 2)
        a = p["alerts"][0]
        self.assertEqual(list(a.keys()), ALERT_KEYS)
        self.assertEqual(a["status"], "firing")
        self.assertEqual(a["endsAt"], "0001-01-01T00:00:00Z")
        self.assertEqual(a["labels"]["instance"], "i0")
        self.assertEqual(a["generatorURL"], "http://prom/g0")
        self.assertEqual(len(a["fingerprint"]), 16)
        # The password never reaches the log.
        self.assertNotIn("s3cret", d.logs())

    def test_bearer_token(self):
        r, d = self.start(extra="        http_config:\n"
                                "          bearer_token: tok123\n")
        self.assertEqual(post_alerts(d.url, [harness.alert("B")]).status, 200)
        req = r.wait_for(1, timeout=10)[0]
        self.assertEqual(req.headers.get("authorization"), "Bearer tok123")

    def test_resolved_notification(self):
        r, d = self.start()
        now = time.time()
        self.assertEqual(post_alerts(d.url, [harness.alert("R", starts_at=now - 60)]).status, 200)
        first = r.wait_for(1, timeout=10)[0].json
        self.assertEqual(first["status"], "firing")
        self.assertEqual(post_alerts(d.url, [harness.alert("R", starts_at=now - 60,
                                                           ends_at=time.time())]).status, 200)
        reqs = r.wait_for(2, timeout=10)
        second = reqs[1].json
        self.assertEqual(second["status"], "resolved")
        self.assertEqual(second["alerts"][0]["status"], "resolved")
        self.assertNotEqual(second["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z")

    def test_500_500_200_is_three_attempts(self):
        # A long group_interval: no newer flush supersedes the retrying job.
        r, d = self.start(statuses=[500, 500, 200], group_interval="1m")
        self.assertEqual(post_alerts(d.url, [harness.alert("Retry")]).status, 200)
        reqs = r.wait_for(3, timeout=15)
        self.assertEqual(reqs[0].body, reqs[1].body)
        self.assertEqual(reqs[1].body, reqs[2].body)
        # Retries back off: the gaps are at least half the 1 s and 2 s base waits.
        self.assertGreaterEqual(reqs[1].time - reqs[0].time, 0.4)
        self.assertGreaterEqual(reqs[2].time - reqs[1].time, 0.9)
        wait_until(lambda: "notification delivered" in d.logs(), timeout=5,
                   what="the delivered log line")
        time.sleep(1.5)
        self.assertEqual(len(r.requests), 3)
        self.assertEqual(d.logs().count("notification will be retried"), 2)

    def test_400_is_not_retried(self):
        r, d = self.start(statuses=[400])
        self.assertEqual(post_alerts(d.url, [harness.alert("Bad")]).status, 200)
        r.wait_for(1, timeout=10)
        wait_until(lambda: "notification failed" in d.logs(), timeout=5,
                   what="the failure log line")
        time.sleep(0.8)  # less than the next group_interval flush
        self.assertEqual(len(r.requests), 1)
        self.assertIn("unexpected status code 400", d.logs())

    def test_429_is_retried(self):
        # WebhookReceiver cannot add headers, so this 429 has no Retry-After and the
        # backoff applies (Retry-After parsing is in tests/unit/test_delivery.c).
        r, d = self.start(statuses=[429])
        self.assertEqual(post_alerts(d.url, [harness.alert("Slow")]).status, 200)
        reqs = r.wait_for(2, timeout=10)
        self.assertGreaterEqual(reqs[1].time - reqs[0].time, 0.4)


if __name__ == "__main__":
    unittest.main()
