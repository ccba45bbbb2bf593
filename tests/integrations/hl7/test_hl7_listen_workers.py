"""`manage.py hl7_listen --workers 2` as the RIS meets it: a real process with two workers serving one
port (PostgreSQL: the processes share the test database). Messages on several connections are all
acknowledged; killing the listener outright takes its workers with it, and once it is started again a
message resent for lack of an ACK gets the first ACK (docs/integrations.md, "HL7 v2")."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from integrations.hl7 import er7, samples
from integrations.hl7.mllp import Client
from integrations.hl7.models import InboundMessage

from .conftest import ack_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start(port: int = 0) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "DATABASE_URL": database_url()}
    command = [sys.executable, "manage.py", "hl7_listen", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # "HL7 MLLP listener on 127.0.0.1:<port> as ris.client, 2 worker processes"
    assert "2 worker processes" in line, line
    return proc, int(line.split(" as ")[0].rsplit(":", 1)[1])


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def unknown_order(control_id: str) -> str:
    return samples.order_status("OMI", control_id, placer="CP-MRI-0", status="IP")


def test_two_workers_answer_every_connection_and_die_with_the_listener(require_postgres, ris):
    proc, port = start()
    try:
        answers = {}

        def send(n):
            client = Client("127.0.0.1", port, timeout=20)
            answers.update({f"W{n}-{i}": client.send(unknown_order(f"W{n}-{i}")) for i in range(5)})
            client.close()

        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        first = Client("127.0.0.1", port, timeout=20).send(unknown_order("W-again"))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    assert sorted(ack_of(er7.parse(ack))[0] for ack in answers.values()) == ["AE"] * 20
    assert InboundMessage.objects.filter(control_id__startswith="W").count() == 21
    deadline = time.monotonic() + 5
    while not refused(port) and time.monotonic() < deadline:  # the workers follow their parent out
        time.sleep(0.1)
    assert refused(port)

    proc, port = start(port)
    try:
        again = Client("127.0.0.1", port, timeout=20).send(unknown_order("W-again"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)

    assert again == first
    assert InboundMessage.objects.get(control_id="W-again").duplicates == 1
