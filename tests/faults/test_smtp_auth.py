"""An SMTP server that refuses the credentials: permanent failures fail at once.

A real SMTP server (aiosmtpd, as tests/integration/receivers/smtp.py) on
127.0.0.1 that requires AUTH; the daemon's email receiver "mail" logs in with
a password the server does not accept. The server's answer to AUTH is
switched while the test runs:

- "reject": 535 5.7.8 Authentication credentials invalid (permanent). The
  notification must fail at once: one AUTH attempt and no more (the first
  retry would come after 0.5-1 s; the test waits 3 s), counted in
  amrouter_notifications_failed_total, no retry counted, and the log names
  the receiver and the server's reply.
- "tempfail": 454 4.7.0 Temporary authentication failure. The notification is
  retried (several AUTH attempts, retries counted, nothing failed), and once
  the server accepts ("accept") the email is delivered.
- the server stopped (connection refused): retried, not failed; delivered
  when a server listens on the port again.
"""
import logging
import re
import threading
import time
import unittest
import warnings

import harness
from faultlib import say

# aiosmtpd warns about AUTH without TLS (wanted here: loopback) and about its own
# deprecated Session.login_data on every AUTH; keep the report readable.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
warnings.filterwarnings("ignore", module="aiosmtpd")

REPLY_535 = "535 5.7.8 Authentication credentials invalid"
REPLY_454 = "454 4.7.0 Temporary authentication failure"


class AuthSmtp:
    """aiosmtpd on 127.0.0.1:port requiring AUTH; .mode says how AUTH is answered."""

    def __init__(self, port=None):
        self.mode = "reject"
        self.port = port or harness.free_port()
        self.auth_attempts = []  # (mode, time)
        self.messages = []
        self._lock = threading.Lock()
        self._controller = None

    def start(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        srv = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                with srv._lock:
                    srv.messages.append(envelope.content)
                return "250 OK"

        def authenticator(smtp, session, envelope, mechanism, auth_data):
            with srv._lock:
                mode = srv.mode
                srv.auth_attempts.append((mode, time.monotonic()))
            if mode == "accept":
                return AuthResult(success=True, auth_data=auth_data)
            return AuthResult(success=False, handled=False,
                              message=REPLY_535 if mode == "reject" else REPLY_454)

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                      ready_timeout=10, authenticator=authenticator,
                                      auth_required=True, auth_require_tls=False)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def attempts(self, mode=None):
        with self._lock:
            return [a for a in self.auth_attempts if mode is None or a[0] == mode]


def config(port):
    return f"""
global:
  smtp_smarthost: 127.0.0.1:{port}
  smtp_from: amrouter@example.org
  smtp_require_tls: false
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 4h
receivers:
  - name: mail
    email_configs:
      - to: oncall@example.org
        auth_username: am
        auth_password: not-the-password
"""


def metric(url, name):
    """The value of name{...receiver="mail"...} in /metrics, 0 when absent."""
    text = harness.request("GET", url + "/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and 'receiver="mail"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class SmtpAuthTest(unittest.TestCase):
    def test_refused_login_fails_at_once_temporary_ones_retry(self):
        print()
        say("tried: an email receiver whose SMTP server (aiosmtpd) answers AUTH with 535, "
            "then 454, then is stopped, then accepts")
        smtp = AuthSmtp().start()
        self.addCleanup(lambda: smtp.stop())
        d = harness.Amrouter(config(smtp.port), log_level="info")
        self.addCleanup(d.cleanup)
        d.start()

        # 535: permanent.
        self.assertEqual(harness.post_alerts(d.url, [harness.alert("Refused")]).status, 200)
        harness.wait_until(lambda: metric(d.url, "amrouter_notifications_failed_total") >= 1,
                           timeout=10, interval=0.1, what="the email counted as failed")
        time.sleep(3.0)  # a retry would have come after 0.5-1 s
        self.assertEqual(len(smtp.attempts("reject")), 1, "a refused login was retried")
        self.assertEqual(metric(d.url, "amrouter_notifications_failed_total"), 1)
        self.assertEqual(metric(d.url, "amrouter_notification_retries_total"), 0)
        self.assertEqual(smtp.messages, [])
        logs = d.logs()
        line = [ln for ln in logs.splitlines() if "notification failed" in ln]
        self.assertEqual(len(line), 1, logs[-2000:])
        self.assertIn("receiver mail", line[0])
        self.assertIn(REPLY_535, line[0])
        self.assertNotIn("not-the-password", logs)
        say("verified: 535 -> 1 AUTH attempt in 3 s, failed_total 1, retries 0, the log "
            "names the receiver and the reply: %s", re.sub(r"^.*err=", "err=", line[0])[:220])

        # 454: temporary, retried until the server accepts.
        smtp.mode = "tempfail"
        self.assertEqual(harness.post_alerts(d.url, [harness.alert("Tempfail")]).status, 200)
        harness.wait_until(lambda: len(smtp.attempts("tempfail")) >= 3, timeout=10,
                           interval=0.1, what="454 retried twice")
        self.assertGreaterEqual(metric(d.url, "amrouter_notification_retries_total"), 2)
        self.assertEqual(metric(d.url, "amrouter_notifications_failed_total"), 1)
        smtp.mode = "accept"
        harness.wait_until(lambda: len(smtp.messages) == 1, timeout=10, interval=0.1,
                           what="the email delivered once the server accepts")
        say("verified: 454 -> %d AUTH attempts (retried), not failed; delivered once "
            "accepted", len(smtp.attempts("tempfail")))

        # Connection refused: retried, delivered when the server is back.
        smtp.stop()
        retries = metric(d.url, "amrouter_notification_retries_total")
        self.assertEqual(harness.post_alerts(d.url, [harness.alert("Down")]).status, 200)
        harness.wait_until(
            lambda: metric(d.url, "amrouter_notification_retries_total") >= retries + 2,
            timeout=10, interval=0.1, what="connection errors retried")
        self.assertEqual(metric(d.url, "amrouter_notifications_failed_total"), 1)
        smtp2 = AuthSmtp(port=smtp.port)
        smtp2.mode = "accept"
        smtp2.start()
        self.addCleanup(smtp2.stop)
        harness.wait_until(lambda: len(smtp2.messages) == 1, timeout=15, interval=0.1,
                           what="the email delivered once the server is back")
        self.assertEqual(metric(d.url, "amrouter_notifications_failed_total"), 1)
        say("verified: connection refused -> retried, not failed; delivered when the "
            "server listens again")
        self.assertIsNone(d.sanitizer_report())


if __name__ == "__main__":
    unittest.main()
