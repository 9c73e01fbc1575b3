"""test_prometheus.py - a real Prometheus (Debian's 2.42) with an always-firing
rule sends its alert to amrouter, and amrouter routes it to a webhook.

One Prometheus on loopback alerts both a real Alertmanager and amrouter (when
runnable) with the same routing config, each with its own webhook receiver.
test_alertmanager checks the set-up on Alertmanager (so a failure against
amrouter is amrouter's); test_amrouter checks that amrouter received the alert
(GET /api/v2/alerts) and notified the right receiver with the same payload
fields as Alertmanager.

Timing (ALERTMANAGER-NOTES.md): Prometheus drops its first batch when it
evaluates before its alertmanager discovery is done and then waits
--rules.alert.resend-delay, so it runs with a 1s resend delay and a 1s rule
group interval; the alert arrives within a few seconds. Every process is
stopped by its PID in tearDownClass.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sbs_harness import (PROMETHEUS_BIN, Alertmanager, Amrouter, WebhookReceiver,  # noqa: E402
                         amrouter_runnable)

ROUTING = """global:
  resolve_timeout: 5m
route:
  receiver: fallback
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
  - receiver: sbs-team
    matchers: [team="sbs", severity=~"page|critical"]
receivers:
- name: fallback
  webhook_configs: [{url: '$WEBHOOK/fallback'}]
- name: sbs-team
  webhook_configs: [{url: '$WEBHOOK/sbs-team'}]
"""

RULES = """groups:
- name: always
  interval: 1s
  rules:
  - alert: AlwaysFiring
    expr: vector(1)
    labels:
      severity: page
      team: sbs
    annotations:
      summary: this rule always fires
"""

WANT_LABELS = {"alertname": "AlwaysFiring", "severity": "page", "team": "sbs"}
DEADLINE = 30.0


class Prometheus(harness._Daemon):
    """/usr/bin/prometheus on 127.0.0.1:PORT, TSDB in its temp dir."""

    name = "prometheus"
    config_name = "prometheus.yml"

    def command(self):
        return [PROMETHEUS_BIN,
                "--config.file=" + self.config_path,
                "--storage.tsdb.path=" + self.storage_path,
                "--web.listen-address=127.0.0.1:%d" % self.port,
                "--web.external-url=" + self.url,
                "--rules.alert.resend-delay=1s",
                "--log.level=info"]


def prometheus_config(targets):
    tl = ", ".join(f"'127.0.0.1:{p}'" for p in targets)
    return f"""global:
  scrape_interval: 1m
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
  - api_version: v2
    static_configs:
    - targets: [{tl}]
"""


def _firing_for(payloads):
    for p in payloads:
        for a in p.get("alerts", []):
            if a.get("labels") == WANT_LABELS and a.get("status") == "firing":
                return p
    return None


class PrometheusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cleanups = []
        cls.amrouter_ok, cls.amrouter_why = amrouter_runnable()
        cls.amrouter_error = None
        try:
            cls.am_hook = WebhookReceiver()
            cls.cleanups.append(cls.am_hook.stop)
            cls.am = Alertmanager(ROUTING.replace("$WEBHOOK", cls.am_hook.url))
            cls.cleanups.append(cls.am.cleanup)
            cls.am.start()
            targets = [cls.am.port]
            cls.amr = None
            if cls.amrouter_ok:
                cls.amr_hook = WebhookReceiver()
                cls.cleanups.append(cls.amr_hook.stop)
                cls.amr = Amrouter(ROUTING.replace("$WEBHOOK", cls.amr_hook.url))
                cls.cleanups.append(cls.amr.cleanup)
                try:
                    cls.amr.start()
                    targets.append(cls.amr.port)
                except RuntimeError as e:
                    cls.amrouter_error = str(e)
            cls.prom = Prometheus(prometheus_config(targets), files={"rules.yml": RULES})
            cls.cleanups.append(cls.prom.cleanup)
            cls.prom.start(timeout=30)
            cls.t0 = time.monotonic()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for fn in reversed(cls.cleanups):
            try:
                fn()
            except Exception:  # noqa: BLE001 - keep stopping the others
                pass
        cls.cleanups = []

    def _wait(self, hook):
        left = max(0.0, DEADLINE - (time.monotonic() - self.t0))
        return hook.wait_for(_firing_for, left)

    def test_alertmanager(self):
        """Prometheus -> Alertmanager -> webhook works in this set-up."""
        p = self._wait(self.am_hook)
        self.assertIsNotNone(p, "Alertmanager never notified the AlwaysFiring alert; "
                             "prometheus log:\n" + self.prom.logs()[-2000:])
        self.assertEqual(p["receiver"], "sbs-team")
        self.assertEqual(p["groupLabels"], {"alertname": "AlwaysFiring"})
        self.assertEqual(p["groupKey"], '{}/{severity=~"page|critical",team="sbs"}:'
                                        '{alertname="AlwaysFiring"}')

    def test_amrouter(self):
        """Prometheus -> amrouter: the alert is stored, routed and notified."""
        if not self.amrouter_ok:
            self.skipTest(f"amrouter not runnable yet: {self.amrouter_why}")
        self.assertIsNone(self.amrouter_error)
        p = self._wait(self.amr_hook)
        self.assertIsNotNone(
            p, "amrouter never notified the AlwaysFiring alert; amrouter log:\n"
            + self.amr.logs()[-2000:] + "\nprometheus log:\n" + self.prom.logs()[-1500:])
        self.assertEqual(p["receiver"], "sbs-team")
        self.assertEqual(p["status"], "firing")
        self.assertEqual(p["groupLabels"], {"alertname": "AlwaysFiring"})
        self.assertEqual(p["commonAnnotations"], {"summary": "this rule always fires"})
        ref = self._wait(self.am_hook)
        self.assertIsNotNone(ref, "Alertmanager never notified (see test_alertmanager)")
        for field in ("groupKey", "commonLabels", "version", "truncatedAlerts"):
            self.assertEqual(p.get(field), ref.get(field), f"webhook field {field}")
        a = next(a for a in p["alerts"] if a["labels"] == WANT_LABELS)
        self.assertTrue(a["generatorURL"].startswith(self.prom.url + "/graph?"),
                        a["generatorURL"])
        # What the API shows about it: active, routed to sbs-team, with the
        # endsAt Prometheus set (in the future), same as Alertmanager.
        st, alerts = harness.get_json(self.amr.url + "/api/v2/alerts")
        self.assertEqual(st, 200)
        mine = [x for x in alerts if x["labels"] == WANT_LABELS]
        self.assertEqual(len(mine), 1, alerts)
        self.assertEqual(mine[0]["receivers"], [{"name": "sbs-team"}])
        self.assertEqual(mine[0]["status"]["state"], "active")
        st, ref_alerts = harness.get_json(self.am.url + "/api/v2/alerts")
        ref_mine = [x for x in ref_alerts if x["labels"] == WANT_LABELS]
        self.assertEqual(mine[0]["fingerprint"], ref_mine[0]["fingerprint"])


if __name__ == "__main__":
    unittest.main()
