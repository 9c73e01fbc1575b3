"""Drop-in check: configs in Alertmanager's own format are accepted or refused
by `amctl check-config` exactly when Alertmanager 0.25's `amtool check-config`
accepts or refuses them. Skipped where amtool is not installed."""
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AMCTL = os.environ.get("AMCTL_BIN", os.path.join(ROOT, "bin", "amctl"))
AMTOOL = shutil.which("amtool")

BASE_RECEIVERS = """
receivers:
  - name: default
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:1/hook
"""

VALID = {
    "minimal": "route: {receiver: default}\n" + BASE_RECEIVERS,
    "inheritance": """
route:
  receiver: default
  group_by: [alertname, cluster]
  group_wait: 10s
  routes:
    - matchers: ['severity="page"', 'team=~"db|web"']
      receiver: hook
      group_by: []
      continue: true
      routes:
        - match: {service: api}
          group_by: ['...']
        - match_re: {service: 'web.*'}
          repeat_interval: 1h
""" + BASE_RECEIVERS,
    "time_intervals": """
route:
  receiver: default
  routes:
    - matchers: [a=b]
      mute_time_intervals: [weekend]
      active_time_intervals: [office]
time_intervals:
  - name: office
    time_intervals:
      - times: [{start_time: '09:00', end_time: '17:00'}]
        weekdays: ['monday:friday']
        days_of_month: ['1:-1']
        months: ['january:december']
mute_time_intervals:
  - name: weekend
    time_intervals: [{weekdays: [saturday, sunday]}]
""" + BASE_RECEIVERS,
    "inhibit_forms": """
route: {receiver: default}
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity=~"warning|info"]
    equal: [alertname]
  - source_match: {severity: critical}
    target_match_re: {severity: 'warn.*'}
""" + BASE_RECEIVERS,
    "integrations": """
global:
  smtp_smarthost: 127.0.0.1:25
  smtp_from: am@example.com
  slack_api_url: http://127.0.0.1:1/slack
  resolve_timeout: 1m
route: {receiver: all}
receivers:
  - name: all
    webhook_configs:
      - url: http://127.0.0.1:1/hook
        max_alerts: 10
        http_config:
          basic_auth: {username: u, password: p}
    email_configs:
      - to: a@example.com
        headers: {Subject: hello}
    slack_configs:
      - channel: '#x'
    pagerduty_configs:
      - routing_key: abc
        severity: warning
""",
    "edge_cases": """
route:
  receiver: default
  group_by: []
  routes:
    - receiver: ""
      matchers: ['{a="b", c!~"d|e",}']
    - match: {a: ""}
      repeat_interval: 1d
time_intervals:
  - name: late
    time_intervals: [{times: [{start_time: '23:00', end_time: '24:00'}], days_of_month: ['-7:-1']}]
""" + BASE_RECEIVERS,
}

INVALID = {
    "undefined_receiver": "route: {receiver: nope}\n" + BASE_RECEIVERS,
    "duplicate_receiver": "route: {receiver: default}\nreceivers: [{name: default}, {name: default}]\n",
    "zero_group_interval": "route: {receiver: default, group_interval: 0s}\n" + BASE_RECEIVERS,
    "zero_repeat_interval": "route:\n  receiver: default\n  routes: [{repeat_interval: 0s}]\n"
                            + BASE_RECEIVERS,
    "root_matchers": "route: {receiver: default, matchers: [a=b]}\n" + BASE_RECEIVERS,
    "root_continue": "route: {receiver: default, continue: true}\n" + BASE_RECEIVERS,
    "root_without_receiver": "route: {group_by: [a]}\n" + BASE_RECEIVERS,
    "wildcard_mixed": "route: {receiver: default, group_by: ['...', a]}\n" + BASE_RECEIVERS,
    "duplicate_group_by": "route: {receiver: default, group_by: [a, a]}\n" + BASE_RECEIVERS,
    "bad_regex": "route:\n  receiver: default\n  routes: [{match_re: {a: '(x'}}]\n" + BASE_RECEIVERS,
    "bad_matcher": "route:\n  receiver: default\n  routes: [{matchers: ['a~b']}]\n" + BASE_RECEIVERS,
    "unknown_key": "route: {receiver: default, gruop_by: [a]}\n" + BASE_RECEIVERS,
    "bad_duration": "route: {receiver: default, group_wait: 5x}\n" + BASE_RECEIVERS,
    "undefined_time_interval": "route:\n  receiver: default\n  routes: [{mute_time_intervals: [x]}]\n"
                               + BASE_RECEIVERS,
    "slack_without_url": "route: {receiver: s}\nreceivers: [{name: s, slack_configs: [{channel: x}]}]\n",
    "email_without_smarthost": "route: {receiver: e}\nreceivers: [{name: e, email_configs: [{to: a@b, from: c@d}]}]\n",
    "pagerduty_without_key": "route: {receiver: p}\nreceivers: [{name: p, pagerduty_configs: [{}]}]\n",
    "webhook_without_url": "route: {receiver: w}\nreceivers: [{name: w, webhook_configs: [{}]}]\n",
    "bad_weekday": "route: {receiver: default}\ntime_intervals: [{name: t, time_intervals: [{weekdays: [funday]}]}]\n"
                   + BASE_RECEIVERS,
    "no_route": BASE_RECEIVERS,
    "mixed_sign_days": "route: {receiver: default}\n"
                       "time_intervals: [{name: t, time_intervals: [{days_of_month: ['-3:5']}]}]\n"
                       + BASE_RECEIVERS,
    "negative_duration": "route: {receiver: default, group_wait: -1m}\n" + BASE_RECEIVERS,
    "two_auth_methods": "route: {receiver: w}\nreceivers:\n  - name: w\n    webhook_configs:\n"
                        "      - url: http://127.0.0.1:1/\n"
                        "        http_config: {bearer_token: x, basic_auth: {username: u}}\n",
    "email_without_to": "global: {smtp_smarthost: 'h:25', smtp_from: a@b}\nroute: {receiver: e}\n"
                        "receivers: [{name: e, email_configs: [{headers: {a: b}}]}]\n",
    "quoted_bool": "route: {receiver: w}\nreceivers:\n  - name: w\n    webhook_configs:\n"
                   "      - {url: 'http://127.0.0.1:1/', send_resolved: 'yes'}\n",
    "not_a_mapping": "- a\n- b\n",
    "bad_url_scheme": "route: {receiver: w}\nreceivers: [{name: w, webhook_configs: [{url: 'ftp://x/'}]}]\n",
}


def run(tool, path):
    p = subprocess.run([tool, "check-config", path], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


@unittest.skipIf(AMTOOL is None, "amtool (Debian prometheus-alertmanager) is not installed")
class SameVerdictAsAmtool(unittest.TestCase):
    def check(self, cases, want_ok):
        with tempfile.TemporaryDirectory() as d:
            for name, text in cases.items():
                with self.subTest(config=name):
                    path = os.path.join(d, name + ".yml")
                    with open(path, "w") as f:
                        f.write(text)
                    am_rc, am_out = run(AMTOOL, path)
                    our_rc, our_out = run(AMCTL, path)
                    self.assertEqual(am_rc == 0, want_ok, "amtool: " + am_out)
                    self.assertEqual(our_rc == 0, want_ok, "amctl: " + our_out)
                    if not want_ok:
                        # Our message names the file and a line:col.
                        self.assertRegex(our_out, "FAILED: " + path + r":\d+:\d+: ")

    def test_valid_configs(self):
        self.check(VALID, True)

    def test_invalid_configs(self):
        self.check(INVALID, False)


if __name__ == "__main__":
    unittest.main()
