"""The daemon's front: flags, start-up, health endpoints, signals."""

import re
import signal
import socket
import subprocess
import time
import unittest

import harness
from harness import Amrouter, request

MINIMAL = """\
route:
  receiver: default
receivers:
- name: default
"""

# Line 4 has the error (group_wait is not a duration).
BROKEN = """\
route:
  receiver: default
  group_by: [alertname]
  group_wait: soon
receivers:
- name: default
"""


def run(*args, timeout=10):
    return subprocess.run([harness.AMROUTER_BIN] + list(args), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class FlagsTest(unittest.TestCase):
    def test_version(self):
        p = run("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^amrouter, version \d+\.\d+\.\d+ \(revision: \S+\)")

    def test_help(self):
        p = run("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for flag in ("--config.file", "--storage.path", "--web.listen-address",
                     "--web.external-url", "--log.level", "--log.format", "--version"):
            self.assertIn(flag, p.stdout)

    def test_unknown_flag_is_usage_error(self):
        p = run("--bogus")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--bogus", p.stderr)

    def test_positional_argument_is_usage_error(self):
        p = run("extra")
        self.assertEqual(p.returncode, 2)
        self.assertIn("extra", p.stderr)

    def test_missing_value_is_usage_error(self):
        p = run("--config.file")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--config.file", p.stderr)

    def test_bad_log_level_and_format(self):
        p = run("--log.level=loud")
        self.assertEqual(p.returncode, 2)
        self.assertIn("loud", p.stderr)
        p = run("--log.format", "xml")
        self.assertEqual(p.returncode, 2)
        self.assertIn("xml", p.stderr)

    def test_bad_external_url(self):
        with Amrouter(MINIMAL, external_url="ftp://x") as d:
            d.start(wait=False)
            self.assertEqual(d.wait_exit(10), 1)
            self.assertIn("web.external-url", d.logs())

    def test_missing_config_file_exits_before_listening(self):
        with Amrouter(MINIMAL) as d:
            d.args = ["--config.file=" + d.dir + "/nope.yml"]
            d.start(wait=False)
            self.assertEqual(d.wait_exit(10), 1)
            self.assertIn("nope.yml", d.logs())
            self.assertFalse(harness.port_is_bound(d.port))

    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            with Amrouter(MINIMAL, port=port) as d:
                d.start(wait=False)
                self.assertEqual(d.wait_exit(10), 1)
                self.assertIn("address already in use", d.logs().lower())

    def test_second_daemon_on_the_same_storage_refuses(self):
        with Amrouter(MINIMAL) as first, Amrouter(MINIMAL) as second:
            first.start()
            second.args = ["--storage.path=" + first.storage_path]
            second.start(wait=False)
            self.assertEqual(second.wait_exit(10), 1)
            self.assertIn(first.storage_path, second.logs())
            self.assertIn("another amrouter", second.logs())
            self.assertFalse(harness.port_is_bound(second.port))
            self.assertEqual(request("GET", first.url + "/-/ready").status, 200)

    def test_space_separated_flags_and_log_format_json(self):
        with Amrouter(MINIMAL) as d:
            d.command = lambda: [harness.AMROUTER_BIN, "--config.file", d.config_path,
                                 "--storage.path", d.storage_path, "--web.listen-address",
                                 "127.0.0.1:%d" % d.port, "--log.format", "json"]
            d.start()
            self.assertEqual(request("GET", d.url + "/-/healthy").status, 200)
            self.assertEqual(d.stop(), 0)
            first = d.logs().splitlines()[0]
            self.assertTrue(first.startswith("{") and '"level":' in first, first)

    def test_route_prefix_from_external_url(self):
        port = harness.free_port()
        with Amrouter(MINIMAL, port=port,
                      external_url="http://127.0.0.1:%d/am/" % port) as d:
            d.start(wait=False)
            harness.wait_until(lambda: d.running and harness.port_is_bound(port), what="listen")
            harness.wait_until(
                lambda: request("GET", d.url + "/am/-/healthy").status == 200, what="healthy")
            self.assertEqual(request("GET", d.url + "/-/healthy").status, 404)
            self.assertEqual(request("GET", d.url + "/amx/-/healthy").status, 404)
        with Amrouter(MINIMAL, args=["--web.route-prefix=/x"]) as d:
            d.start(wait=False)
            harness.wait_until(
                lambda: harness.port_is_bound(d.port) and
                request("GET", d.url + "/x/-/ready").status == 200, what="ready under /x")

    def test_alertmanager_only_flags_are_ignored_with_warning(self):
        with Amrouter(MINIMAL, args=["--cluster.listen-address=", "--cluster.peer",
                                     "10.0.0.1:9094", "--data.retention=120h"]) as d:
            d.start()
            self.assertEqual(d.stop(), 0)
            logs = d.logs()
            self.assertIn("--cluster.listen-address=", logs)
            self.assertIn("--cluster.peer", logs)
            self.assertIn("--data.retention=120h", logs)
            self.assertIn("level=warn", logs)


class ConfigTest(unittest.TestCase):
    def test_bad_config_names_file_line_and_binds_nothing(self):
        with Amrouter(BROKEN) as d:
            d.start(wait=False)
            rc = d.wait_exit(10)
            self.assertIsNotNone(rc, "still running with a broken config")
            self.assertNotEqual(rc, 0)
            self.assertIn("amrouter.yml:4:", d.logs())
            self.assertIn("group_wait", d.logs())
            self.assertFalse(harness.port_is_bound(d.port))


class RunningTest(unittest.TestCase):
    def setUp(self):
        self.d = Amrouter(MINIMAL)
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def test_startup_line(self):
        harness.wait_until(lambda: "starting amrouter" in self.d.logs(), what="start-up line")
        logs = self.d.logs()
        line = [l for l in logs.splitlines() if "starting amrouter" in l]
        self.assertEqual(len(line), 1, logs)
        self.assertIn("version=", line[0])
        self.assertIn("127.0.0.1:%d" % self.d.port, line[0])
        self.assertIn("storage=" + self.d.storage_path, line[0])

    def test_healthy_and_ready_get_and_head(self):
        for path in ("/-/healthy", "/-/ready"):
            r = request("GET", self.d.url + path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(r.text, "OK")
            r = request("HEAD", self.d.url + path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(r.body, b"")

    def test_unknown_paths_and_methods(self):
        r = request("GET", self.d.url + "/api/v2/nothing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json(), {"code": 404, "message": "path /api/v2/nothing was not found"})
        r = request("GET", self.d.url + "/nothing")
        self.assertEqual(r.status, 404)
        r = request("POST", self.d.url + "/-/healthy")
        self.assertEqual(r.status, 405)
        r = request("GET", self.d.url + "/-/reload")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers.get("allow"), "POST")

    def _count_413(self):
        text = request("GET", self.d.url + "/metrics").text
        m = re.search(r'^amrouter_http_requests_total\{code="413"\} (\d+)$', text, re.M)
        return int(m.group(1)) if m else 0

    def test_declared_body_over_limit_is_413_before_reading_it(self):
        # Only the headers are sent: the answer must come without the body.
        before = self._count_413()
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as s:
            s.sendall(b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % ((8 << 20) + 1))
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data)
        self.assertIn(b"application/json", data)
        self.assertIn(b"8388608", data)
        self.assertEqual(self._count_413(), before + 1)  # rejections show in /metrics

    def test_chunked_body_over_limit_is_413(self):
        before = self._count_413()
        def chunks():
            piece = b" " * 65536
            yield b"["
            for _ in range((8 << 20) // len(piece) + 1):
                yield piece
            yield b"]"
        u = self.d.url.split("//")[1].split(":")
        import http.client
        conn = http.client.HTTPConnection(u[0], int(u[1]), timeout=30)
        try:
            conn.request("POST", "/api/v2/alerts", body=chunks(), encode_chunked=True,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
        finally:
            conn.close()
        self.assertEqual(r.status, 413, body)
        self.assertIn(b"limit", body)
        self.assertEqual(request("GET", self.d.url + "/-/healthy").status, 200)
        self.assertEqual(self._count_413(), before + 1)

    def _stops_promptly(self, signum):
        t0 = time.monotonic()
        self.d.signal(signum)
        rc = self.d.wait_exit(10)
        self.assertEqual(rc, 0, self.d.logs())
        self.assertLess(time.monotonic() - t0, 10)
        self.assertFalse(harness.port_is_bound(self.d.port))

    def test_sigterm_exits_zero(self):
        self._stops_promptly(signal.SIGTERM)
        self.assertIn("SIGTERM", self.d.logs())

    def test_sigterm_with_open_connections(self):
        # An idle keep-alive connection and a half-sent request must not hold up the stop.
        import http.client
        idle = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=10)
        idle.request("GET", "/-/ready")
        self.assertEqual(idle.getresponse().read(), b"OK")
        half = socket.create_connection(("127.0.0.1", self.d.port), timeout=10)
        half.sendall(b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[")
        try:
            self._stops_promptly(signal.SIGTERM)
        finally:
            idle.close()
            half.close()

    def test_sigint_exits_zero(self):
        self._stops_promptly(signal.SIGINT)

    def test_sighup_keeps_serving(self):
        self.d.signal(signal.SIGHUP)
        harness.wait_until(lambda: "SIGHUP" in self.d.logs() or "reload" in self.d.logs(),
                           what="the reload to be logged")
        self.assertTrue(self.d.running)
        self.assertEqual(request("GET", self.d.url + "/-/ready").status, 200)
        self.assertEqual(self.d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
