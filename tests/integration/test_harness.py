"""The harness itself: the webhook receiver and the Alertmanager wrapper work as
documented, so a failing side-by-side test points at amrouter, not at the harness."""

import os
import time
import unittest

import harness
from harness import Alertmanager, WebhookReceiver, get_json, post_alerts, request

AM_CONFIG = """\
route:
  receiver: hook
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: hook
  webhook_configs:
  - url: %s
"""


class WebhookReceiverTest(unittest.TestCase):
    def test_records_and_scripts_statuses(self):
        with WebhookReceiver(statuses=[500, 201]) as r:
            a = request("POST", r.url_for("/x"), body={"a": 1})
            b = request("POST", r.url_for("/y"), body=b"not json",
                        headers={"X-Test": "1"})
            c = request("GET", r.url)
            self.assertEqual([a.status, b.status, c.status], [500, 201, 200])
            got = r.wait_for(3, timeout=5)
            self.assertEqual([(x.method, x.path) for x in got],
                             [("POST", "/x"), ("POST", "/y"), ("GET", "/")])
            self.assertEqual(got[0].json, {"a": 1})
            self.assertIsNone(got[1].json)
            self.assertEqual(got[1].body, b"not json")
            self.assertEqual(got[1].headers["x-test"], "1")
            r.clear()
            self.assertEqual(r.requests, [])
            with self.assertRaises(AssertionError):
                r.wait_for(1, timeout=0.2)

    def test_status_callable(self):
        with WebhookReceiver(statuses=lambda req: 404 if req.path == "/missing" else 200) as r:
            self.assertEqual(request("POST", r.url_for("missing"), body={}).status, 404)
            self.assertEqual(request("POST", r.url_for("ok"), body={}).status, 200)


@unittest.skipUnless(os.path.exists(harness.ALERTMANAGER_BIN), "prometheus-alertmanager missing")
class AlertmanagerTest(unittest.TestCase):
    def test_alertmanager_delivers_to_the_receiver(self):
        with WebhookReceiver() as hook, Alertmanager(AM_CONFIG % hook.url) as am:
            am.start()
            r = post_alerts(am.url, [harness.alert("HarnessTest", {"x": "1"})])
            self.assertEqual(r.status, 200, r.text)
            got = hook.wait_for(1, timeout=15)[0].json
            self.assertEqual(got["receiver"], "hook")
            self.assertEqual(got["alerts"][0]["labels"], {"alertname": "HarnessTest", "x": "1"})
            self.assertEqual(got["externalURL"], am.url)
            st, alerts = get_json(am.url + "/api/v2/alerts")
            self.assertEqual(st, 200)
            self.assertEqual(len(alerts), 1)
            pid = am.pid
            self.assertEqual(am.kill(), -9)
            self.assertFalse(am.running)
            am.start()
            self.assertNotEqual(am.pid, pid)
        self.assertFalse(os.path.exists(am.dir))

    def test_start_failure_shows_the_log(self):
        with Alertmanager("route: [") as am:
            with self.assertRaises(AssertionError) as cm:
                am.start(timeout=10)
            self.assertIn("exited", str(cm.exception))


class SanitizerReportTest(unittest.TestCase):
    def test_cleanup_fails_on_a_sanitizer_report(self):
        d = harness.Amrouter("route: {receiver: r}\nreceivers: [{name: r}]\n")
        with open(d.log_path, "w") as f:
            f.write("ts=... msg=x\n==1==ERROR: AddressSanitizer: heap-use-after-free\n")
        with self.assertRaises(AssertionError) as cm:
            d.cleanup()
        self.assertIn("heap-use-after-free", str(cm.exception))
        self.assertFalse(os.path.exists(d.dir))


class HelpersTest(unittest.TestCase):
    def test_rfc3339_and_alert(self):
        self.assertEqual(harness.rfc3339(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(harness.rfc3339(1.5), "1970-01-01T00:00:01.500Z")
        a = harness.alert("A", {"b": "c"}, starts_at=0, ends_at="2030-01-01T00:00:00Z")
        self.assertEqual(a, {"labels": {"alertname": "A", "b": "c"},
                             "startsAt": "1970-01-01T00:00:00.000Z",
                             "endsAt": "2030-01-01T00:00:00Z"})

    def test_wait_until(self):
        t0 = time.monotonic()
        self.assertEqual(harness.wait_until(lambda: time.monotonic() - t0 > 0.1 and 7), 7)
        with self.assertRaises(AssertionError) as cm:
            harness.wait_until(lambda: False, timeout=0.1, what="nothing")
        self.assertIn("nothing", str(cm.exception))

    def test_free_port(self):
        p = harness.free_port()
        self.assertTrue(1024 <= p <= 65535)
        self.assertFalse(harness.port_is_bound(p))


if __name__ == "__main__":
    unittest.main()
