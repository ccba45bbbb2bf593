"""A real HTTP receiver on localhost (http.server in a thread) that records what it is sent and
answers with the statuses a test scripts; endpoints registered against it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.api.conftest import _clear_throttles, _plain_http, api  # noqa: F401  (API clients, as tests/api/ has them)
from tests.timers.conftest import _fresh_sla_cache  # noqa: F401  (SLA policies are cached per process)


class Receiver:
    def __init__(self):
        self.received: list[dict] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def endpoint(receiver, admin_user):
    from integrations.models import EventType, WebhookEndpoint

    return WebhookEndpoint.objects.create(
        name="EHR", url=receiver.url, event_types=list(EventType.values), created_by=admin_user
    )


@pytest.fixture(autouse=True)
def _relay_eager(settings):
    """The relay's pass runs in-process once a transition commits (as Celery tasks run eagerly in
    tests), instead of in the `outbox_relay` process."""
    settings.CAREPATH_OUTBOX_RELAY_EAGER = True
