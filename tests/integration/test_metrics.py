"""test_metrics.py - GET /metrics: strict text-format check by promtool, and values.

Alerts are posted (one batch rejected), notifications go to a webhook that
accepts and to one that refuses (400: given up at once), and the scrape must
count exactly that.
"""

import re
import shutil
import subprocess
import time
import unittest

from harness import (Amrouter, WebhookReceiver, alert, get_json, post_alerts, post_json,
                     request, rfc3339, wait_until)

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

CONFIG = """\
route:
  receiver: good
  group_wait: 0s
  group_interval: 1h
  group_by: [alertname]
  routes:
  - receiver: bad
    matchers: ['dest="bad"']
receivers:
- name: good
  webhook_configs: [{url: '%s'}]
- name: bad
  webhook_configs: [{url: '%s'}]
"""

ESCALATION = """\
route:
  receiver: first
  group_wait: 0s
  group_interval: 1h
  escalation: ladder
receivers:
- name: first
  webhook_configs: [{url: '%s'}]
- name: second
  webhook_configs: [{url: '%s'}]
escalation_policies:
- name: ladder
  steps:
  - receivers: [first]
  - after: 1s
    receivers: [second]
"""

INHIBIT = """\
route:
  receiver: good
  group_wait: 0s
  group_interval: 1h
  group_by: [alertname]
receivers:
- name: good
  webhook_configs: [{url: '%s'}]
inhibit_rules:
- source_matchers: ['severity="critical"']
  target_matchers: ['severity="warning"']
  equal: [cluster]
"""


def parse(text):
    """{'name{labels}': float} for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, val = line.rpartition(" ")
        out[key] = float(val)
    return out


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.hook = WebhookReceiver(statuses=lambda req: 400 if req.path == "/bad" else 200)
        self.hook.start()
        self.addCleanup(self.hook.stop)
        self.d = Amrouter(CONFIG % (self.hook.url_for("/good"), self.hook.url_for("/bad")))
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def scrape(self):
        r = request("GET", self.d.url + "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain; version=0.0.4"))
        return r.text

    def test_promtool_accepts_and_values_count(self):
        self.assertEqual(post_alerts(self.d.url, [{"labels": {"alertname": "A"}},
                                                  {"labels": {"alertname": "B", "dest": "bad"}}]
                                     ).status, 200)
        self.assertEqual(post_alerts(self.d.url, [{"labels": {}}]).status, 400)
        self.hook.wait_for(2, timeout=10)

        def delivered():
            m = parse(self.scrape())
            ok = m.get('amrouter_notifications_total{integration="webhook",receiver="good"}')
            bad = m.get('amrouter_notifications_failed_total{integration="webhook",'
                        'receiver="bad"}')
            # The delivery results reach the engine through its queue: wait for it too.
            return m if ok == 1 and bad == 1 and m.get("amrouter_engine_queue_depth") == 0 \
                else None
        m = wait_until(delivered, timeout=10, what="delivery outcomes in /metrics")
        text = self.scrape()
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=20)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout.strip() + check.stderr.strip(), "",
                         "promtool lint findings")
        self.assertEqual(m['amrouter_alerts_received_total{status="firing"}'], 2)
        self.assertEqual(m['amrouter_alerts_rejected_total{reason="invalid"}'], 1)
        self.assertEqual(m['amrouter_alerts{state="active"}'], 2)
        self.assertEqual(m['amrouter_alerts{state="suppressed"}'], 0)
        self.assertEqual(m['amrouter_incidents{state="firing"}'], 2)
        self.assertEqual(m['amrouter_incidents{state="acknowledged"}'], 0)
        self.assertEqual(m['amrouter_notification_latency_seconds_count{integration="webhook"}'],
                         2)
        self.assertEqual(
            m['amrouter_notification_latency_seconds_bucket{integration="webhook",le="+Inf"}'], 2)
        self.assertGreater(m["amrouter_sqlite_commit_duration_seconds_count"], 0)
        self.assertEqual(m["amrouter_config_last_reload_successful"], 1)
        self.assertGreater(m["amrouter_config_last_reload_success_timestamp_seconds"], 1.6e9)
        self.assertEqual(m["amrouter_engine_queue_depth"], 0)
        self.assertTrue(any(k.startswith("amrouter_build_info{version=") for k in m))
        for name in ("amrouter_notification_retries_total", "amrouter_notifications_throttled_total",
                     "amrouter_escalation_steps_fired_total"):
            self.assertIn("# TYPE %s counter" % name, text)

    def test_alert_and_incident_states_match_the_api(self):
        """The state gauges are counted without building the API's JSON: they must
        still equal what GET /api/v2/alerts and /api/v2/incidents report, with
        silenced (by an equality and by a regex-only silence) and inhibited alerts,
        a resolved alert (not counted) and an acknowledged incident."""
        hook = WebhookReceiver()
        hook.start()
        self.addCleanup(hook.stop)
        d = Amrouter(INHIBIT % hook.url_for("/good"))
        self.addCleanup(d.cleanup)
        d.start()
        now = time.time()
        for m in ([{"name": "alertname", "value": "Muted", "isRegex": False},
                   {"name": "instance", "value": "i1", "isRegex": False}],
                  [{"name": "team", "value": "x|y", "isRegex": True}]):
            r = post_json(d.url + "/api/v2/silences",
                          {"matchers": m, "startsAt": rfc3339(now - 60),
                           "endsAt": rfc3339(now + 3600), "createdBy": "t", "comment": "c"})
            self.assertEqual(r.status, 200, r.text)
        self.assertEqual(post_alerts(d.url, [
            alert("Plain"),
            alert("Muted", {"instance": "i1"}),
            alert("Muted", {"instance": "i2"}),
            alert("Rx", {"team": "x"}),
            alert("Source", {"severity": "critical", "cluster": "c1"}),
            alert("Target", {"severity": "warning", "cluster": "c1"}),
            alert("Target", {"severity": "warning", "cluster": "c2"}),
            alert("Gone", starts_at=now - 120, ends_at=now - 60),
        ]).status, 200)

        def incidents():
            st, inc = get_json(d.url + "/api/v2/incidents")
            return inc if st == 200 and len(inc) >= 4 else None
        inc = wait_until(incidents, timeout=10, what="incidents opened")
        r = post_json(d.url + "/api/v2/incidents/%d/ack" % inc[0]["id"], {"by": "me"})
        self.assertEqual(r.status, 200, r.text)

        st, alerts = get_json(d.url + "/api/v2/alerts")
        self.assertEqual(st, 200)
        by_state = {}
        for a in alerts:
            by_state[a["status"]["state"]] = by_state.get(a["status"]["state"], 0) + 1
        # Plain, Muted/i2, Source, Target/c2 active; Muted/i1, Rx, Target/c1 suppressed.
        self.assertEqual(by_state, {"active": 4, "suppressed": 3})
        st, inc = get_json(d.url + "/api/v2/incidents")
        inc_states = {}
        for i in inc:
            inc_states[i["state"]] = inc_states.get(i["state"], 0) + 1
        self.assertEqual(inc_states.get("acknowledged"), 1)

        m = parse(request("GET", d.url + "/metrics").text)
        self.assertEqual(m['amrouter_alerts{state="active"}'], 4)
        self.assertEqual(m['amrouter_alerts{state="suppressed"}'], 3)
        self.assertEqual(m['amrouter_alerts{state="unprocessed"}'], 0)
        self.assertEqual(m['amrouter_incidents{state="firing"}'], inc_states.get("firing", 0))
        self.assertEqual(m['amrouter_incidents{state="acknowledged"}'], 1)

    def test_escalation_steps_counted(self):
        hook = WebhookReceiver()
        hook.start()
        self.addCleanup(hook.stop)
        d = Amrouter(ESCALATION % (hook.url_for("/first"), hook.url_for("/second")))
        self.addCleanup(d.cleanup)
        d.start()
        post_alerts(d.url, [{"labels": {"alertname": "Esc"}}])
        hook.wait_for(2, timeout=10)

        def both():
            m = parse(request("GET", d.url + "/metrics").text)
            a = m.get('amrouter_escalation_steps_fired_total{receiver="first"}')
            b = m.get('amrouter_escalation_steps_fired_total{receiver="second"}')
            # the first notification is the group's flush; escalation begins after it
            return (a, b) if a is None and b == 1 else None
        wait_until(both, timeout=10, what="the escalation step counted")

    def test_failed_reload_sets_gauge(self):
        self.d.write_config("route: [not valid\n")
        self.assertEqual(self.d.reload().status, 500)
        m = parse(self.scrape())
        self.assertEqual(m["amrouter_config_last_reload_successful"], 0)

    def test_retries_counted(self):
        hook = WebhookReceiver(statuses=[503])
        hook.start()
        self.addCleanup(hook.stop)
        d = Amrouter(CONFIG % (hook.url_for("/good"), hook.url_for("/bad")))
        self.addCleanup(d.cleanup)
        d.start()
        post_alerts(d.url, [{"labels": {"alertname": "R"}}])
        hook.wait_for(1, timeout=10)

        def retried():
            m = parse(request("GET", d.url + "/metrics").text)
            return m.get('amrouter_notification_retries_total{integration="webhook",'
                         'receiver="good"}', 0) >= 1
        wait_until(retried, timeout=10, what="a retry counted")


if __name__ == "__main__":
    unittest.main()
