"""A real SMTP server on loopback (aiosmtpd, Debian python3-aiosmtpd) that
records every message with its envelope, the EHLO name, whether STARTTLS was
used and who authenticated.

    with SmtpServer(tls_cert=(cert, key), require_starttls=True,
                    users={"am": "pw"}) as s:
        ... s.port ... s.wait_for(1) -> [Message]

make_cert(dir) writes a self-signed cert.pem/key.pem for 127.0.0.1 with the
openssl command line and returns (cert, key).
"""
import os
import socket
import ssl
import subprocess
import threading
import time
import logging

# aiosmtpd 1.4 logs a deprecation warning about its own Session.login_data on
# every AUTH; keep the test output readable.
logging.getLogger("mail.log").setLevel(logging.ERROR)


def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Message:
    def __init__(self, mail_from, rcpt_tos, content, helo, tls, login):
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.content = content  # bytes, as received (CRLF line ends)
        self.helo = helo
        self.tls = tls
        self.login = login


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, tls_cert=None, require_starttls=False, users=None):
        self.tls_cert = tls_cert
        self.require_starttls = require_starttls
        self.users = users
        self.messages = []
        self.auth_attempts = []
        self._cond = threading.Condition()
        self._controller = None

    def start(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                login = None
                if isinstance(session.auth_data, LoginPassword):
                    login = session.auth_data.login.decode("utf-8")
                msg = Message(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                              or envelope.content, session.host_name, session.ssl is not None,
                              login)
                with server._cond:
                    server.messages.append(msg)
                    server._cond.notify_all()
                return "250 OK"

        def authenticator(smtp, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and self.users is not None and
                  self.users.get(auth_data.login.decode("utf-8")) ==
                  auth_data.password.decode("utf-8"))
            with self._cond:
                self.auth_attempts.append((mechanism, ok))
            # handled=False: aiosmtpd then answers 535 itself (its default is to say nothing).
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs = {}
        if self.tls_cert is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*self.tls_cert)
            kwargs["tls_context"] = ctx
            kwargs["require_starttls"] = self.require_starttls
        if self.users is not None:
            kwargs["authenticator"] = authenticator
            kwargs["auth_required"] = True
            kwargs["auth_require_tls"] = self.tls_cert is not None
        self.port = _free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                      ready_timeout=10, **kwargs)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("smtp: %d of %d messages after %gs"
                                         % (len(self.messages), n, timeout))
                self._cond.wait(left)
            return list(self.messages[:n])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
