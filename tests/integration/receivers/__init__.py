"""Local stand-ins for the services amrouter's notifiers talk to, on 127.0.0.1.

Each fake validates a request the way its real service documents it and
answers with the service's own success or error reply, recording every
request for the test to inspect:

    FakeSlack      incoming webhooks: POST JSON to /services/..., 200 "ok"
    FakePagerDuty  Events API v2: POST JSON to /v2/enqueue, 202 {"status": "success"}
    FakeTwilio     Messages API: POST form to /2010-04-01/Accounts/{sid}/Messages.json
                   with basic auth, 201 with a message resource
    SmtpServer     a real SMTP server (aiosmtpd) with optional STARTTLS and AUTH

Every server is started and stopped by the test (context managers); nothing
outlives the test process.
"""
from .fakes import FakePagerDuty, FakeSlack, FakeTwilio  # noqa: F401
from .smtp import SmtpServer, make_cert  # noqa: F401
