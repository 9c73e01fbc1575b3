"""Fake Slack, PagerDuty and Twilio HTTP endpoints (see __init__.py)."""
import base64
import http.server
import json
import threading
import time
import urllib.parse


class Recorded:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.time = time.monotonic()

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def form(self):
        return urllib.parse.parse_qs(self.body.decode("ascii"), strict_parsing=True)

    def basic_auth(self):
        h = self.headers.get("authorization", "")
        if not h.startswith("Basic "):
            return None
        user, _, pw = base64.b64decode(h[6:]).decode("utf-8").partition(":")
        return user, pw

    def __repr__(self):
        return "Recorded(%s %s %r)" % (self.method, self.path, self.body[:200])


class _Fake:
    """A threaded HTTP server that records requests and answers via self.answer()."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = []
        self.fail_next = []  # (status, body) replies to use first, e.g. a 500
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n > 0 else b""
                req = Recorded(self.command, self.path,
                               {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:
                    fake.requests.append(req)
                    forced = fake.fail_next.pop(0) if fake.fail_next else None
                status, ctype, out = forced if forced else fake.answer(req)
                data = out.encode("utf-8") if isinstance(out, str) else out
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, fmt, *args):
                pass

        self._handler = Handler
        self._server = None

    def start(self):
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port


class FakeSlack(_Fake):
    """Slack incoming webhook: 200 "ok"; 404 "no_service" for an unknown hook path;
    400 "invalid_payload" for a body that is not a JSON object with text or
    attachments."""

    def __init__(self, hook="/services/T0000/B0000/XXXXSECRETXXXX"):
        super().__init__()
        self.hook = hook

    @property
    def url(self):
        return self.base + self.hook

    def answer(self, req):
        if req.method != "POST" or req.path != self.hook:
            return 404, "text/html", "no_service"
        if not req.headers.get("content-type", "").startswith("application/json"):
            return 400, "text/html", "invalid_payload"
        try:
            msg = req.json()
        except ValueError:
            return 400, "text/html", "invalid_payload"
        if not isinstance(msg, dict) or not (msg.get("text") or msg.get("attachments")):
            return 400, "text/html", "no_text"
        return 200, "text/html", "ok"


class FakePagerDuty(_Fake):
    """Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
    202 {"status":"success","message":"Event processed","dedup_key":...};
    400 {"status":"invalid event","errors":[...]} like the real endpoint."""

    SEVERITIES = ("critical", "error", "warning", "info")

    @property
    def url(self):
        return self.base + "/v2/enqueue"

    def answer(self, req):
        errors = []
        if req.path != "/v2/enqueue" or req.method != "POST":
            return 404, "application/json", '{"status":"not found"}'
        try:
            ev = req.json()
        except ValueError:
            return 400, "application/json", json.dumps(
                {"status": "invalid event", "errors": ["Invalid JSON"]})
        if not ev.get("routing_key"):
            errors.append("'routing_key' is missing or blank")
        if ev.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        if ev.get("event_action") in ("acknowledge", "resolve") and not ev.get("dedup_key"):
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if ev.get("event_action") == "trigger":
            p = ev.get("payload") or {}
            for k in ("summary", "source", "severity"):
                if not p.get(k):
                    errors.append("'payload.%s' is missing or blank" % k)
            if p.get("severity") not in self.SEVERITIES:
                errors.append("'payload.severity' is invalid")
            if len(p.get("summary", "")) > 1024:
                errors.append("'payload.summary' is too long")
        if errors:
            return 400, "application/json", json.dumps(
                {"status": "invalid event", "message": "Event object is invalid",
                 "errors": errors})
        return 202, "application/json", json.dumps(
            {"status": "success", "message": "Event processed",
             "dedup_key": ev.get("dedup_key")})


class FakeTwilio(_Fake):
    """Messages API (https://www.twilio.com/docs/messaging/api/message-resource):
    POST /2010-04-01/Accounts/{sid}/Messages.json, basic auth sid:token, form
    fields To, From, Body; 201 with the message resource, 401 on bad
    credentials, 400 on a missing field (Twilio error codes 21604/21603/21602)."""

    def __init__(self, sid="AC0123456789abcdef0123456789abcdef", token="tw-t0ken"):
        super().__init__()
        self.sid = sid
        self.token = token
        self._n = 0

    def answer(self, req):
        path = "/2010-04-01/Accounts/%s/Messages.json" % self.sid
        if req.method != "POST" or req.path != path:
            return 404, "application/json", json.dumps({"code": 20404, "status": 404})
        if req.basic_auth() != (self.sid, self.token):
            return 401, "application/json", json.dumps(
                {"code": 20003, "message": "Authenticate", "status": 401})
        try:
            form = req.form()
        except ValueError:
            form = {}
        for field, code in (("To", 21604), ("From", 21603), ("Body", 21602)):
            if not form.get(field):
                return 400, "application/json", json.dumps(
                    {"code": code, "message": "A '%s' is required" % field, "status": 400})
        with self._lock:
            self._n += 1
            n = self._n
        return 201, "application/json", json.dumps(
            {"sid": "SM%032d" % n, "status": "queued", "to": form["To"][0],
             "from": form["From"][0], "body": form["Body"][0],
             "num_segments": "1", "account_sid": self.sid})
