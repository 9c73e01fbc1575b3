"""Slack, PagerDuty, Twilio SMS and email notifiers against local receivers.

Each test writes an amrouter config, has the notifier test driver
(build/tests/test_notify_driver --send, see tests/unit/test_notify_driver.c)
build the notification with the real config loader, templates and request
builders and send it with libcurl exactly as notify_request_setup_curl()
configures it, then checks what the receiver got: method, path, headers
(auth, content type) and the body fields the service documents. Email goes
to a real SMTP server (aiosmtpd), in plain text and with STARTTLS + AUTH.

The fakes answer like the real services (see receivers/), so a request they
accept is one the service would accept.
"""
import email
import email.policy
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from receivers import FakePagerDuty, FakeSlack, FakeTwilio, SmtpServer, make_cert

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(REPO, os.environ.get("BUILD", "build"), "tests", "test_notify_driver")

GROUP_KEY = '{}/{team="db"}:{alertname="PostgresDown", cluster="prod-eu"}'
ACK_URL = "http://amrouter.example.com:9093/ack/42.1796040000.3q2-7Ld9fT0yWb1kVxNcRg"


@unittest.skipUnless(os.access(DRIVER, os.X_OK), "notifier driver not built: " + DRIVER)
class NotifierTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="amr-notifiers-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def send(self, receivers_yaml, state="firing", merged=0, expect_ok=True):
        path = os.path.join(self.dir, "amrouter.yml")
        with open(path, "w") as f:
            f.write("route: {receiver: r}\nreceivers:\n- name: r\n" + receivers_yaml)
        args = [DRIVER, "--send", path, "--state", state]
        if merged:
            args += ["--merged", str(merged)]
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        if expect_ok:
            self.assertEqual(p.returncode, 0, out)
        else:
            self.assertNotEqual(p.returncode, 0, out)
        return out


class SlackTest(NotifierTest):
    def test_webhook_request(self):
        with FakeSlack() as slack:
            out = self.send("  slack_configs:\n  - api_url: %s\n    channel: '#db'\n"
                            "    username: amrouter\n    icon_emoji: ':rotating_light:'\n"
                            "    fields:\n    - {title: Cluster, value: '{{commonLabels.cluster}}',"
                            " short: true}\n" % slack.url)
            self.assertEqual(len(slack.requests), 1)
            req = slack.requests[0]
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.path, slack.hook)
        self.assertEqual(req.headers["content-type"], "application/json")
        msg = req.json()
        self.assertEqual(msg["channel"], "#db")
        self.assertEqual(msg["username"], "amrouter")
        self.assertEqual(msg["icon_emoji"], ":rotating_light:")
        att = msg["attachments"][0]
        self.assertEqual(att["color"], "danger")
        self.assertEqual(att["title"], "[FIRING:2] PostgresDown prod-eu (incident #42)")
        self.assertEqual(att["title_link"], "http://amrouter.example.com:9093/incidents/42")
        self.assertIn("db-1.prod:9187", att["text"])
        self.assertEqual(att["fields"], [{"title": "Cluster", "value": "prod-eu", "short": True}])
        self.assertEqual(att["actions"], [{"type": "button", "text": "Acknowledge",
                                           "url": ACK_URL, "style": "primary"}])
        # The webhook URL is the secret: only its host may be printed.
        self.assertIn("url=http://127.0.0.1:%d/<redacted>" % slack.port, out)
        self.assertNotIn("SECRET", out)

    def test_resolved_and_error_keep_secret(self):
        with FakeSlack() as slack:
            self.send("  slack_configs:\n  - api_url: %s\n" % slack.url, state="resolved")
            att = slack.requests[0].json()["attachments"][0]
            self.assertEqual(att["color"], "good")
            self.assertNotIn("actions", att)
            # A wrong hook: Slack's 404 no_service is a failure, and still no secret.
            out = self.send("  slack_configs:\n  - api_url: %s/wrongSECRET\n" % slack.url,
                            expect_ok=False)
        self.assertIn("status=404", out)
        self.assertIn("no_service", out)
        self.assertNotIn("SECRET", out)


class PagerDutyTest(NotifierTest):
    def test_trigger_ack_resolve(self):
        dedup = hashlib.sha256(GROUP_KEY.encode()).hexdigest()
        cfg = ("  pagerduty_configs:\n  - routing_key: R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12\n"
               "    url: %s\n    severity: critical\n    class: database\n"
               "    component: postgres\n    group: '{{commonLabels.cluster}}'\n"
               "    links:\n    - {href: 'https://runbooks.example.com/pg', text: Runbook}\n")
        with FakePagerDuty() as pd:
            out = self.send(cfg % pd.url)
            self.send(cfg % pd.url, state="acked")
            self.send(cfg % pd.url, state="resolved")
            reqs = list(pd.requests)
        self.assertEqual(len(reqs), 3)
        for r in reqs:
            self.assertEqual(r.method, "POST")
            self.assertEqual(r.path, "/v2/enqueue")
            self.assertEqual(r.headers["content-type"], "application/json")
        trig, ack, res = (r.json() for r in reqs)
        self.assertEqual(trig["routing_key"], "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12")
        self.assertEqual(trig["event_action"], "trigger")
        self.assertEqual(trig["dedup_key"], dedup)
        p = trig["payload"]
        self.assertEqual(p["summary"], "[FIRING:2] PostgresDown prod-eu (incident #42)")
        self.assertEqual(p["source"], "amrouter.example.com")
        self.assertEqual(p["severity"], "critical")
        self.assertEqual(p["class"], "database")
        self.assertEqual(p["component"], "postgres")
        self.assertEqual(p["group"], "prod-eu")
        self.assertEqual(p["timestamp"], "2026-11-23T12:00:00.000Z")
        self.assertEqual(p["custom_details"]["num_firing"], 2)
        self.assertEqual(trig["client"], "amrouter")
        self.assertEqual(trig["links"], [
            {"href": ACK_URL, "text": "Acknowledge incident #42"},
            {"href": "https://runbooks.example.com/pg", "text": "Runbook"}])
        self.assertEqual(trig["images"], [])
        self.assertEqual((ack["event_action"], ack["dedup_key"]), ("acknowledge", dedup))
        self.assertEqual((res["event_action"], res["dedup_key"]), ("resolve", dedup))
        self.assertNotIn("R0UT1NGKEY", out)
        self.assertIn("status=202", out)


class TwilioTest(NotifierTest):
    def cfg(self, tw, token=None, extra=""):
        return ("  sms_configs:\n  - account_sid: %s\n    auth_token: %s\n"
                "    from: '+15550000000'\n    to: ['+15551111111', '+15552222222']\n"
                "    api_url: %s\n%s" % (tw.sid, token or tw.token, tw.base, extra))

    def test_one_message_per_number(self):
        with FakeTwilio() as tw:
            out = self.send(self.cfg(tw), merged=2)
            reqs = list(tw.requests)
        self.assertEqual(len(reqs), 2)
        for r, to in zip(reqs, ("+15551111111", "+15552222222")):
            self.assertEqual(r.method, "POST")
            self.assertEqual(r.path, "/2010-04-01/Accounts/%s/Messages.json" % tw.sid)
            self.assertEqual(r.headers["content-type"], "application/x-www-form-urlencoded")
            self.assertEqual(r.basic_auth(), (tw.sid, tw.token))
            form = r.form()
            self.assertEqual(form["To"], [to])
            self.assertEqual(form["From"], ["+15550000000"])
            body = form["Body"][0]
            self.assertIn("#42", body)
            self.assertIn(ACK_URL, body)
            self.assertTrue(body.endswith(" (+2 more)"), body)
            self.assertLessEqual(len(body), 160)
        self.assertEqual(out.count("status=201"), 2)
        self.assertNotIn(tw.token, out)

    def test_cut_to_segments_and_bad_token(self):
        long_text = "word " * 100
        with FakeTwilio() as tw:
            self.send(self.cfg(tw, extra="    text: '%s'\n    max_segments: 2\n" % long_text))
            body = tw.requests[0].form()["Body"][0]
            self.assertLessEqual(len(body), 306)
            self.assertGreater(len(body), 290)
            self.assertTrue(body.endswith("word..."), body)
            out = self.send(self.cfg(tw, token="wrong-t0ken"), expect_ok=False)
        self.assertIn("status=401", out)
        self.assertNotIn("wrong-t0ken", out)

    def test_ack_needs_notify_acks(self):
        with FakeTwilio() as tw:
            out = self.send(self.cfg(tw), state="acked")
            self.assertIn("skipped kind=sms", out)
            self.assertEqual(tw.requests, [])
            self.send(self.cfg(tw, extra="    notify_acks: true\n"), state="acked")
            self.assertEqual(len(tw.requests), 2)
            # Once acknowledged the message carries no ack link any more.
            body = tw.requests[0].form()["Body"][0]
            self.assertIn("#42", body)
            self.assertNotIn("/ack/", body)


class EmailTest(NotifierTest):
    def parse(self, m):
        return email.message_from_bytes(m.content, policy=email.policy.default)

    def test_plain_smtp_multipart(self):
        with SmtpServer() as smtp:
            self.send("  email_configs:\n"
                      "  - to: 'DB Tëam <db@example.com>, oncall@example.com'\n"
                      "    from: 'amrouter <am@example.org>'\n"
                      "    smarthost: 127.0.0.1:%d\n"
                      "    hello: am.example.org\n"
                      "    require_tls: false\n"
                      "    subject: 'Störung {{commonLabels.alertname}} ✓'\n"
                      "    headers:\n      X-Team: '{{commonLabels.team}}'\n" % smtp.port)
            (m,) = smtp.wait_for(1)
        self.assertEqual(m.mail_from, "am@example.org")
        self.assertEqual(sorted(m.rcpt_tos), ["db@example.com", "oncall@example.com"])
        self.assertEqual(m.helo, "am.example.org")
        self.assertFalse(m.tls)
        raw = m.content.decode("ascii")  # every byte is 7-bit: encoded words and QP
        self.assertIn("Subject: =?UTF-8?B?", raw)
        msg = self.parse(m)
        self.assertEqual(str(msg["Subject"]), "Störung PostgresDown ✓")
        self.assertEqual(msg["From"], "amrouter <am@example.org>")
        self.assertEqual(msg["To"], "DB Tëam <db@example.com>, oncall@example.com")
        self.assertEqual([(a.display_name, a.addr_spec) for a in msg["To"].addresses],
                         [("DB Tëam", "db@example.com"), ("", "oncall@example.com")])
        self.assertEqual(msg["Date"], "Mon, 23 Nov 2026 12:00:00 +0000")
        self.assertRegex(msg["Message-ID"], r"^<[0-9a-f]{32}\.1795435200000@example\.org>$")
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertEqual(msg["X-Team"], "db")
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        parts = list(msg.iter_parts())
        self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "text/html"])
        for p in parts:
            self.assertEqual(p.get_content_charset(), "utf-8")
            self.assertEqual(p["Content-Transfer-Encoding"], "quoted-printable")
        text, html = parts[0].get_content(), parts[1].get_content()
        self.assertIn("db-1.prod:9187", text)
        self.assertIn(ACK_URL, text)
        self.assertIn("<html", html.lower())
        self.assertIn(ACK_URL, html)

    def test_starttls_with_auth(self):
        cert, key = make_cert(self.dir)
        with SmtpServer(tls_cert=(cert, key), require_starttls=True,
                        users={"am": "sm7p-pa55"}) as smtp:
            out = self.send("  email_configs:\n"
                            "  - to: db@example.com\n    from: am@example.org\n"
                            "    smarthost: 127.0.0.1:%d\n    require_tls: true\n"
                            "    auth_username: am\n    auth_password: sm7p-pa55\n"
                            "    tls_config: {ca_file: %s}\n" % (smtp.port, cert))
            (m,) = smtp.wait_for(1)
            self.assertTrue(m.tls)
            self.assertEqual(m.login, "am")
            self.assertEqual(m.rcpt_tos, ["db@example.com"])
            self.assertNotIn("sm7p-pa55", out)
            # A wrong password is refused by the server: a failure, and no password shown.
            out = self.send("  email_configs:\n"
                            "  - to: db@example.com\n    from: am@example.org\n"
                            "    smarthost: 127.0.0.1:%d\n    auth_username: am\n"
                            "    auth_password: wr0ng-pa55\n    tls_config: {ca_file: %s}\n"
                            % (smtp.port, cert), expect_ok=False)
            self.assertIn("status=535", out)
            self.assertNotIn("wr0ng-pa55", out)
            self.assertEqual(len(smtp.messages), 1)

    def test_require_tls_without_starttls_fails(self):
        with SmtpServer() as smtp:
            out = self.send("  email_configs:\n"
                            "  - to: db@example.com\n    from: am@example.org\n"
                            "    smarthost: 127.0.0.1:%d\n    require_tls: true\n" % smtp.port,
                            expect_ok=False)
            self.assertIn("failed kind=email", out)
            self.assertEqual(smtp.messages, [])


DAEMON_CONFIG = """
route:
  receiver: all
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
- name: all
  slack_configs:
  - api_url: $SLACK
    channel: '#ops'
    send_resolved: true
  pagerduty_configs:
  - routing_key: R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12
    url: $PD
  sms_configs:
  - account_sid: $SID
    auth_token: $TOKEN
    from: '+15550000000'
    to: ['+15551111111', '+15552222222']
    api_url: $TWILIO
  email_configs:
  - to: db@example.com
    from: am@example.org
    smarthost: 127.0.0.1:$SMTP
    require_tls: true
    auth_username: am
    auth_password: sm7p-pa55
    tls_config: {ca_file: $CERT}
"""


@unittest.skipUnless(os.access(harness.AMROUTER_BIN, os.X_OK), "amrouter not built")
class DaemonTest(unittest.TestCase):
    """The real daemon: an alert goes through the engine, the outbox and the delivery
    thread to all four integrations; resolving it sends PagerDuty's resolve."""

    def test_all_integrations_through_the_daemon(self):
        tmp = tempfile.mkdtemp(prefix="amr-notifiers-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = make_cert(tmp)
        slack, pd, tw = FakeSlack(), FakePagerDuty(), FakeTwilio()
        smtp = SmtpServer(tls_cert=(cert, key), require_starttls=True, users={"am": "sm7p-pa55"})
        for srv in (slack, pd, tw, smtp):
            srv.start()
            self.addCleanup(srv.stop)
        slack.fail_next.append((500, "text/plain", "internal_error"))  # one retry
        cfg = (DAEMON_CONFIG.replace("$SLACK", slack.url).replace("$PD", pd.url)
               .replace("$SID", tw.sid).replace("$TOKEN", tw.token)
               .replace("$TWILIO", tw.base).replace("$SMTP", str(smtp.port))
               .replace("$CERT", cert))
        d = harness.Amrouter(cfg)
        self.addCleanup(d.cleanup)
        d.start()
        starts = harness.rfc3339(time.time() - 5)
        r = harness.post_alerts(d.url, [harness.alert("DiskFull", labels={"instance": "db-1"},
                                                      annotations={"summary": "disk full"},
                                                      starts_at=starts)])
        self.assertEqual(r.status, 200, r.text)

        harness.wait_until(lambda: len(slack.requests) >= 2, timeout=20, what="slack retry")
        harness.wait_until(lambda: len(pd.requests) >= 1, timeout=20, what="pagerduty")
        harness.wait_until(lambda: len(tw.requests) >= 2, timeout=20, what="two SMS")
        (m,) = smtp.wait_for(1, timeout=20)

        group_key = '{}:{alertname="DiskFull"}'
        s = slack.requests[1]
        self.assertEqual(s.path, slack.hook)
        self.assertEqual(s.headers["content-type"], "application/json")
        self.assertTrue(s.headers["user-agent"].startswith("Alertmanager/0.25.0 amrouter/"))
        att = s.json()["attachments"][0]
        self.assertRegex(att["title"], r"^\[FIRING:1\] DiskFull \(incident #\d+\)$")
        self.assertEqual(att["color"], "danger")
        self.assertEqual(s.json()["channel"], "#ops")

        ev = pd.requests[0].json()
        self.assertEqual(ev["event_action"], "trigger")
        self.assertEqual(ev["dedup_key"], hashlib.sha256(group_key.encode()).hexdigest())
        self.assertEqual(ev["payload"]["severity"], "error")
        self.assertEqual(ev["client_url"], d.url)

        self.assertEqual(sorted(r.form()["To"][0] for r in tw.requests[:2]),
                         ["+15551111111", "+15552222222"])
        for r in tw.requests[:2]:
            self.assertEqual(r.basic_auth(), (tw.sid, tw.token))
            self.assertRegex(r.form()["Body"][0],
                             r"^FIRING #\d+: disk full Ack: %s/ack/[A-Za-z0-9_-]+$" % d.url)
        incident = int(att["title"].split("#")[1].rstrip(")"))
        ack_url = att["actions"][0]["url"]
        self.assertTrue(ack_url.startswith(d.url + "/ack/"), ack_url)
        self.assertEqual(ev["links"][0], {"href": ack_url,
                                          "text": "Acknowledge incident #%d" % incident})
        self.assertIn(ack_url, tw.requests[0].form()["Body"][0])

        self.assertEqual(m.rcpt_tos, ["db@example.com"])
        self.assertTrue(m.tls)
        self.assertEqual(m.login, "am")
        msg = email.message_from_bytes(m.content, policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        self.assertIn("DiskFull", str(msg["Subject"]))

        # Acknowledge through the API: PagerDuty gets acknowledge (same dedup_key), Slack
        # a yellow message without the button, SMS stays quiet (notify_acks is off).
        n_sms = len(tw.requests)
        r = harness.post_json(d.url + "/api/v2/incidents/%d/ack" % incident,
                              {"by": "alice", "comment": "on it"})
        self.assertEqual(r.status, 200, r.text)
        harness.wait_until(lambda: any(q.json().get("event_action") == "acknowledge"
                                       for q in pd.requests), timeout=20, what="PD acknowledge")
        ack = [q.json() for q in pd.requests if q.json()["event_action"] == "acknowledge"][0]
        self.assertEqual(ack["dedup_key"], ev["dedup_key"])
        self.assertNotIn("payload", ack)
        harness.wait_until(lambda: any(q.json()["attachments"][0]["color"] == "warning"
                                       for q in slack.requests[2:]), timeout=20,
                           what="slack ack notice")
        acked = [q.json()["attachments"][0] for q in slack.requests[2:]
                 if q.json()["attachments"][0]["color"] == "warning"][0]
        self.assertNotIn("actions", acked)
        self.assertIn("acknowledged", acked["title"])

        # Resolve: PagerDuty gets resolve with the same dedup_key; Slack (send_resolved) a
        # green message; SMS stays quiet (notify_acks is off).
        r = harness.post_alerts(d.url, [harness.alert("DiskFull", labels={"instance": "db-1"},
                                                      starts_at=starts,
                                                      ends_at=harness.rfc3339(time.time() - 1))])
        self.assertEqual(r.status, 200, r.text)
        harness.wait_until(lambda: any(q.json().get("event_action") == "resolve"
                                       for q in pd.requests), timeout=20, what="PD resolve")
        res = [q.json() for q in pd.requests if q.json()["event_action"] == "resolve"][0]
        self.assertEqual(res["dedup_key"], ev["dedup_key"])
        harness.wait_until(lambda: any(q.json()["attachments"][0]["color"] == "good"
                                       for q in slack.requests[2:]), timeout=20,
                           what="slack resolved")
        self.assertEqual(len(tw.requests), n_sms)
        logs = d.logs()
        self.assertNotIn(tw.token, logs)
        self.assertNotIn("R0UT1NGKEY", logs)
        self.assertNotIn("SECRET", logs)
        self.assertNotIn("sm7p-pa55", logs)


    def test_sms_storm_is_throttled_and_merged(self):
        """Five incidents at once to one number with a 1-per-3s limit: one message
        at once, the other four merged into one "(+3 more)" message after the window,
        and every job reported delivered (none lost)."""
        tw = FakeTwilio()
        tw.start()
        self.addCleanup(tw.stop)
        old = os.environ.get("AMR_SMS_THROTTLE")
        os.environ["AMR_SMS_THROTTLE"] = "1/3s,10/1h"
        self.addCleanup(lambda: os.environ.pop("AMR_SMS_THROTTLE") if old is None
                        else os.environ.__setitem__("AMR_SMS_THROTTLE", old))
        cfg = ("route:\n  receiver: sms\n  group_by: [alertname]\n  group_wait: 1s\n"
               "  group_interval: 1m\n  repeat_interval: 1h\n"
               "receivers:\n- name: sms\n  sms_configs:\n"
               "  - account_sid: %s\n    auth_token: %s\n    from: '+15550000000'\n"
               "    to: '+15551111111'\n    api_url: %s\n" % (tw.sid, tw.token, tw.base))
        d = harness.Amrouter(cfg)
        self.addCleanup(d.cleanup)
        d.start()
        starts = harness.rfc3339(time.time() - 5)
        r = harness.post_alerts(d.url, [harness.alert("Storm%d" % i, starts_at=starts)
                                        for i in range(5)])
        self.assertEqual(r.status, 200, r.text)
        harness.wait_until(lambda: len(tw.requests) >= 2, timeout=20, what="two SMS")
        harness.wait_until(lambda: d.logs().count("notification delivered") >= 5, timeout=10,
                           what="all five jobs delivered")
        time.sleep(0.5)
        reqs = tw.requests
        self.assertEqual(len(reqs), 2, reqs)
        first, second = (q.form()["Body"][0] for q in reqs)
        self.assertNotIn("more)", first)
        self.assertTrue(second.endswith(" (+3 more)"), second)
        self.assertGreaterEqual(reqs[1].time - reqs[0].time, 2.9)
        self.assertIn("throttled", d.logs())


if __name__ == "__main__":
    unittest.main()
