"""test_tls.py - HTTPS with --web.config.file (Alertmanager's web-config format).

The test makes a self-signed certificate for 127.0.0.1 with openssl, serves
the API over TLS, and checks that curl and amctl verify it: accepted with
--cacert / --ca-file, refused without; plain HTTP gets no API answer; a bad
web config stops start-up with the file and key named.
"""

import os
import subprocess
import time
import unittest

import harness
from harness import Amrouter

CONFIG = "route: {receiver: r}\nreceivers: [{name: r}]\n"


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "5", *args], capture_output=True,
                          text=True, timeout=15)


class TlsTest(unittest.TestCase):
    def start(self, web_yml, wait=True):
        d = Amrouter(CONFIG)
        self.addCleanup(d.cleanup)
        self.cert, self.key = make_cert(d.dir)
        path = os.path.join(d.dir, "web.yml")
        with open(path, "w") as f:
            f.write(web_yml)
        d.args = list(d.args) + ["--web.config.file=" + path]
        d.start(wait=False)
        self.url = "https://127.0.0.1:%d" % d.port
        if wait:
            deadline = time.time() + 15
            while time.time() < deadline:
                r = curl("--cacert", self.cert, self.url + "/-/ready")
                if r.returncode == 0 and r.stdout == "OK":
                    break
                self.assertIsNone(d.wait_exit(timeout=0.1), d.logs())
            else:
                self.fail("amrouter did not become ready over TLS:\n" + d.logs())
        return d

    def test_https_verified_with_ca(self):
        d = self.start("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
        r = curl("--cacert", self.cert, self.url + "/api/v2/status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"cluster"', r.stdout)
        # without the CA the self-signed certificate is refused (curl exit 60)
        r = curl(self.url + "/-/healthy")
        self.assertEqual(r.returncode, 60, r.stderr)
        # plain HTTP on the TLS port gets no API answer
        r = curl("http://127.0.0.1:%d/-/healthy" % d.port)
        self.assertNotEqual(r.stdout, "OK")
        self.assertIn("tls=on", d.logs())

    def test_amctl_verifies_by_default(self):
        self.start("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
        amctl = harness.AMCTL_BIN
        ok = subprocess.run([amctl, "--url", self.url, "--ca-file", self.cert, "status"],
                            capture_output=True, text=True, timeout=20)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        bad = subprocess.run([amctl, "--url", self.url, "status"], capture_output=True,
                             text=True, timeout=20)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("certificate", (bad.stdout + bad.stderr).lower())

    def test_bad_web_config_stops_startup(self):
        cases = [
            ("tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n",
             "missing.pem"),
            ("tls_server_config:\n  cert_file: cert.pem\n", "key_file: required"),
            ("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
             "  client_auth_type: RequireAndVerifyClientCert\n", "client_auth_type"),
            ("basic_auth_users:\n  a: b\n", "basic_auth_users"),
        ]
        for text, want in cases:
            with self.subTest(want=want):
                d = self.start(text, wait=False)
                self.assertEqual(d.wait_exit(timeout=10), 1)
                self.assertIn(want, d.logs())
                self.assertIn("web.yml", d.logs())


if __name__ == "__main__":
    unittest.main()
