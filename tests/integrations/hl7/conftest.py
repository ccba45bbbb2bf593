"""HL7 test helpers: the RIS's integration user, a message received as the listener receives it, a
real MLLP listener on a localhost port (the simulated RIS connects with the MLLP client), and what
the ACK says."""

import threading

import pytest

from carepath.pathway import sla
from carepath.pathway.roles import Role
from integrations.hl7 import er7, inbound
from integrations.hl7.mllp import Client, Listener
from tests.api.conftest import _clear_throttles, _plain_http, api  # noqa: F401 (the API tests' client)
from tests.factories import user_with_role


@pytest.fixture(autouse=True)
def _fresh_sla_cache():
    sla.clear_cache()
    yield
    sla.clear_cache()


@pytest.fixture
def ris(groups):
    return user_with_role(Role.RIS_CLIENT, "ris.client")


@pytest.fixture
def receive(ris):
    """`receive(text)` → the ACK, parsed."""

    def send(text: str) -> er7.Message:
        return er7.parse(inbound.receive(text, actor=ris, channel="mllp"))

    return send


@pytest.fixture
def listener(ris):
    """A real MLLP listener on 127.0.0.1 (a free port), in a thread; yields (host, port)."""
    server = Listener(("127.0.0.1", 0), actor=ris)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address
    server.shutdown()
    server.server_close()


@pytest.fixture
def ris_client(listener):
    """The simulated RIS: an MLLP client connected to the listener; `send(text)` → the ACK, parsed."""
    client = Client(*listener, timeout=20)
    yield lambda text: er7.parse(client.send(text))
    client.close()


def ack_of(ack: er7.Message) -> tuple[str, str]:
    """(MSA-1, MSA-3)."""
    return ack["MSA-1"], ack["MSA-3"]
