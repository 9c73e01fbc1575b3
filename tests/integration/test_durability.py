"""Durability: what a 200 promises survives kill -9, and notifications are never lost.

- kill -9 right after a 200: after a restart GET /api/v2/alerts shows the alert and
  the notification (whose group_wait was running) is still delivered;
- a receiver that is down: the notification waits in the outbox; amrouter is killed
  with -9; the receiver comes back; amrouter restarts and delivers it;
- after a restart an already notified group is not notified again before its
  repeat_interval (the notification log is persisted);
- a second amrouter on the same storage path refuses to start and names the first
  one's pid.
"""
import os
import time
import unittest

import harness
from harness import Amrouter, WebhookReceiver, get_json, post_alerts, wait_until


class FixedPortReceiver(WebhookReceiver):
    """A WebhookReceiver on a chosen port, so it can be 'down' and come back."""

    def __init__(self, port, statuses=None):
        super().__init__(statuses=statuses)
        self._fixed_port = port

    def start(self):
        import threading
        self._server = harness._BigBacklogServer(("127.0.0.1", self._fixed_port), self._handler)
        self._server.daemon_threads = True
        self.port = self._fixed_port
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self


def config(url, group_wait="1s"):
    return """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: %s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
""" % (group_wait, url)


def alert_names(d):
    status, body = get_json(d.url + "/api/v2/alerts")
    assert status == 200, (status, body)
    return sorted(a["labels"]["alertname"] for a in body)


class DurabilityTest(unittest.TestCase):
    def test_kill9_right_after_200_loses_nothing(self):
        r = WebhookReceiver().start()
        self.addCleanup(r.stop)
        d = Amrouter(config(r.url_for("/hook"), group_wait="2s"))
        self.addCleanup(d.cleanup)
        d.start()
        batch = [harness.alert("Durable%d" % i) for i in range(20)]
        self.assertEqual(post_alerts(d.url, batch).status, 200)
        d.kill()
        self.assertEqual(r.requests, [])
        d.start()
        self.assertEqual(alert_names(d), sorted("Durable%d" % i for i in range(20)))
        reqs = r.wait_for(20, timeout=15)
        got = sorted(q.json["groupLabels"]["alertname"] for q in reqs)
        self.assertEqual(got, sorted("Durable%d" % i for i in range(20)))

    def test_receiver_down_then_up_after_restart(self):
        port = harness.free_port()
        d = Amrouter(config("http://127.0.0.1:%d/hook" % port, group_wait="100ms"))
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(post_alerts(d.url, [harness.alert("Waiting")]).status, 200)
        wait_until(lambda: "notification will be retried" in d.logs(), timeout=10,
                   what="a failed attempt")
        d.kill()
        r = FixedPortReceiver(port).start()
        self.addCleanup(r.stop)
        d.start()
        req = r.wait_for(1, timeout=15)[0]
        self.assertEqual(req.json["groupLabels"], {"alertname": "Waiting"})
        self.assertEqual(req.json["alerts"][0]["status"], "firing")

    def test_no_duplicate_after_restart(self):
        r = WebhookReceiver().start()
        self.addCleanup(r.stop)
        d = Amrouter(config(r.url_for("/hook"), group_wait="100ms"))
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(post_alerts(d.url, [harness.alert("Once")]).status, 200)
        r.wait_for(1, timeout=10)
        wait_until(lambda: "notification delivered" in d.logs(), timeout=5,
                   what="the delivered log line")
        time.sleep(0.3)  # the result is committed in the engine's next batch
        d.kill()
        d.start()
        time.sleep(2.5)  # more than two group_interval ticks
        self.assertEqual(len(r.requests), 1)
        self.assertEqual(alert_names(d), ["Once"])

    def test_second_instance_refused(self):
        d = Amrouter(config("http://127.0.0.1:9/hook"))
        self.addCleanup(d.cleanup)
        d.start()
        other = Amrouter(config("http://127.0.0.1:9/hook"),
                         args=["--storage.path=" + d.storage_path])
        self.addCleanup(other.cleanup)
        other.start(wait=False)
        rc = other.wait_exit(timeout=10)
        self.assertIsNotNone(rc, "the second amrouter kept running")
        self.assertNotEqual(rc, 0)
        log = other.logs()
        self.assertIn("in use by another amrouter (pid %d)" % d.pid, log)
        self.assertIn(d.storage_path, log)
        self.assertTrue(d.running)
        self.assertTrue(os.path.exists(os.path.join(d.storage_path, "amrouter.db")))


if __name__ == "__main__":
    unittest.main()
