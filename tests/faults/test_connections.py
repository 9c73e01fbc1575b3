"""Many slow or idle connections and oversized requests.

Verified: 600 connections never make more than the 512 connection threads;
with 300 idle connections and 100 slow-loris clients (headers sent a
byte at a time) held open, real clients are still answered; bodies over
api.max_body_bytes get 413 whether announced by Content-Length (before the body
is read) or sent chunked; a Content-Length of 10 GB is refused at once; a
100 kB header line is refused; the daemon's RSS stays bounded, and its threads
and file descriptors come back down once the connections close.
"""
import socket
import threading
import time
import unittest

import harness
from faultlib import FlakyReceiver, proc_stats, say, webhook_config

CONFIG_EXTRA = "api:\n  max_body_bytes: 65536\n"


class ConnectionFaultTest(unittest.TestCase):
    def setUp(self):
        print()
        self.rcv = FlakyReceiver().start()
        self.addCleanup(self.rcv.stop)
        self.d = harness.Amrouter(webhook_config([("hook", self.rcv.url)]) + CONFIG_EXTRA,
                                  log_level="info")
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def real_client_ok(self, tag):
        r = harness.post_alerts(self.d.url, [harness.alert(tag, ends_at=time.time() + 600)],
                                timeout=10)
        self.assertEqual(r.status, 200, r.text)
        st, alerts = harness.get_json(self.d.url + "/api/v2/alerts", timeout=10)
        self.assertEqual(st, 200)
        self.assertIn(tag, {a["labels"]["alertname"] for a in alerts})

    def test_idle_and_slowloris(self):
        before = proc_stats(self.d.pid)
        socks = []
        stop = threading.Event()
        try:
            for _ in range(300):
                socks.append(socket.create_connection(("127.0.0.1", self.d.port), timeout=5))
            slow = []
            for _ in range(100):
                s = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
                s.sendall(b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\n")
                slow.append(s)
            socks += slow

            def drip():
                i = 0
                while not stop.is_set() and i < 200:
                    for s in slow:
                        try:
                            s.sendall(b"X")
                        except OSError:
                            pass
                    i += 1
                    stop.wait(0.2)
            t = threading.Thread(target=drip, daemon=True)
            t.start()
            say("tried: 300 idle connections and 100 slow-loris clients (a header byte "
                "every 200 ms) held open")
            time.sleep(0.5)
            t0 = time.monotonic()
            for i in range(5):
                self.real_client_ok("RealClient%d" % i)
            held = proc_stats(self.d.pid)
            say("verified: 5 real clients answered (POST 200, GET shows the alert) in %.2fs "
                "while they were held; daemon rss %d kB, %d threads, %d fds",
                time.monotonic() - t0, held["rss_kb"], held["threads"], held["fds"])
            self.assertLess(held["rss_kb"], before["rss_kb"] + 256 * 1024,
                            "400 connections cost more than 256 MiB")
        finally:
            stop.set()
            for s in socks:
                s.close()

        def settled():
            st = proc_stats(self.d.pid)
            return st if st["fds"] < before["fds"] + 16 else None
        after = harness.wait_until(settled, timeout=15, what="connections to be released")
        say("verified: after closing them fds %d -> %d, threads %d -> %d, rss %d -> %d kB",
            before["fds"], after["fds"], before["threads"], after["threads"], before["rss_kb"],
            after["rss_kb"])
        self.real_client_ok("RealClientAfter")

    def test_connection_limit(self):
        socks = []
        try:
            for _ in range(600):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", self.d.port), timeout=5))
                except OSError:
                    break
            time.sleep(0.5)
            held = proc_stats(self.d.pid)
            say("tried: 600 idle connections against the limit of 512: daemon has %d threads, "
                "%d fds", held["threads"], held["fds"])
            self.assertLessEqual(held["threads"], 512 + 16, "connection limit not enforced")
            self.assertLessEqual(held["fds"], 512 + 32, "connection limit not enforced")
        finally:
            for s in socks:
                s.close()
        harness.wait_until(lambda: proc_stats(self.d.pid)["threads"] < 32, timeout=15,
                           what="connection threads to end")
        self.real_client_ok("AfterLimit")
        say("verified: the limit held (threads and fds capped) and clients are served once "
            "the idle connections go")

    def test_oversized_requests(self):
        url = self.d.url + "/api/v2/alerts"
        big = b"[" + b",".join([b'{"labels":{"alertname":"Big","i":"%d"}}' % i
                                for i in range(3000)]) + b"]"
        self.assertGreater(len(big), 65536)
        r = harness.request("POST", url, body=big, headers={"Content-Type": "application/json"})
        say("tried: %d-byte body with Content-Length (limit 65536): %d %r", len(big), r.status,
            r.text[:80])
        self.assertEqual(r.status, 413)

        # Chunked, no Content-Length: the cap is enforced while reading.
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as s:
            s.sendall(b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 8192
            try:
                for _ in range(16):
                    s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                s.sendall(b"0\r\n\r\n")
            except OSError:
                pass
            head = s.recv(4096)
        say("tried: 128 kB chunked body: %r", head.split(b"\r\n")[0])
        self.assertTrue(head.startswith(b"HTTP/1.1 413"), head[:100])

        # A huge announced length is refused before any of it is sent.
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as s:
            s.sendall(b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nContent-Length: 10000000000\r\n\r\n")
            t0 = time.monotonic()
            head = s.recv(4096)
            took = time.monotonic() - t0
        say("tried: Content-Length 10 GB with no body: %r after %.2fs", head.split(b"\r\n")[0],
            took)
        self.assertTrue(head.startswith(b"HTTP/1.1 413"), head[:100])

        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as s:
            try:
                s.sendall(b"GET /api/v2/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 +
                          b"\r\n\r\n")
            except OSError:
                pass
            try:
                head = s.recv(4096)
            except OSError as e:
                head = repr(e).encode()
        say("tried: a 100 kB header line: %r", head.split(b"\r\n")[0])
        self.assertFalse(head.startswith(b"HTTP/1.1 200"), head[:100])

        self.real_client_ok("AfterOversized")
        st, alerts = harness.get_json(self.d.url + "/api/v2/alerts")
        self.assertNotIn("Big", {a["labels"]["alertname"] for a in alerts})
        say("verified: each refused, nothing of them stored, a real client still served")


if __name__ == "__main__":
    unittest.main()
