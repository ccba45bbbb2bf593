"""Failure tests against a real Celery worker (a subprocess), the real Redis and PostgreSQL
(docs/design.md §4; issue 4 "Reliability"). Not eager mode: messages really cross the broker.

Run: DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://127.0.0.1:6379/5 pytest -m redis tests/timers
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from carepath.celery import app
from carepath.models import CaseEvent, Delivery, DeliveryState, Notification, Timer, TimerKind, TimerState, WorkItem
from carepath.timers import tasks

from ..conftest import need
from . import mailbox
from .queries import due_reminders_on

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(condition, timeout: float = 20, every: float = 0.2, nudge=None) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        if nudge:
            nudge()
        time.sleep(every)
    return condition()


class Worker:
    """`celery worker` in its own process group, so SIGKILL takes the pool children with it."""

    def __init__(self, env: dict):
        self.env, self.proc = env, None

    def start(self, **extra) -> "Worker":
        env = {**self.env, **{k: str(v) for k, v in extra.items()}}
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "carepath",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"reliability-{os.getpid()}@%h",
        ]
        log = open(Path(env["MAILBOX_DIR"]) / "worker.log", "a")  # noqa: SIM115  closed with the process
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def box(tmp_path):
    return tmp_path


@pytest.fixture
def worker_env(require_postgres, require_redis, transactional_db, box):
    import redis

    redis.Redis.from_url(require_redis).flushdb()  # our own DB number: nothing of anyone else's
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": require_redis,
        "EMAIL_BACKEND": "tests.timers.mailbox.FileBackend",
        "MAILBOX_DIR": str(box),
        "DEBUG": "1",
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "CAREPATH_DELIVERY_LEASE_SECONDS": "1",
        "CAREPATH_DELIVERY_BACKOFF_SECONDS": "0",
        "CAREPATH_DELIVERY_MAX_ATTEMPTS": "3",
        "CAREPATH_TIMER_LEASE_SECONDS": "1",
        "CAREPATH_TIMER_MAX_ATTEMPTS": "2",
        "PYTHONPATH": str(ROOT),
    }
    app.conf.task_always_eager = False
    yield env
    app.conf.task_always_eager = True


@pytest.fixture
def worker(worker_env):
    w = Worker(worker_env)
    yield w
    w.stop()


def make_delivery(key: str, to: str = "family@example.org") -> Delivery:
    now = timezone.now()
    return Delivery.objects.create(
        dedupe_key=key,
        channel="email",
        to=to,
        subject="Reminder",
        body="MRI tomorrow",
        created_at=now,
        next_attempt_at=now,
    )


def state(delivery: Delivery) -> str:
    delivery.refresh_from_db()
    return delivery.state


def test_a_worker_killed_mid_delivery_sends_the_message_exactly_once_after_a_restart(worker, box):
    delivery = make_delivery("reliability:kill")
    worker.start(MAILBOX_DELAY=30)
    tasks.deliver.delay([delivery.pk])
    assert wait_for(lambda: mailbox.sending(box) == 1), "the worker never started sending"
    worker.kill()
    assert mailbox.sent(box, delivery.dedupe_key) == 0 and state(delivery) == DeliveryState.PENDING

    worker.start(MAILBOX_DELAY=0)  # the unacked message comes back; tick re-queues the row as well
    assert wait_for(lambda: state(delivery) == DeliveryState.SENT, timeout=25, every=1, nudge=tasks.tick.delay)
    time.sleep(2)  # let any duplicate redelivery run
    assert mailbox.sent(box, delivery.dedupe_key) == 1


def test_a_worker_killed_mid_chunk_sends_every_message_of_the_chunk_exactly_once(worker, box):
    rows = [
        make_delivery(f"reliability:chunk:{i}", to=f"{'slow' if i == 2 else 'fast'}{i}@example.org") for i in range(5)
    ]
    worker.start(MAILBOX_DELAY=30, MAILBOX_SLOW="slow")
    tasks.deliver.delay([d.pk for d in rows])
    assert wait_for(lambda: mailbox.sending(box) == 3), "the worker never reached the slow message"
    worker.kill()
    assert [state(d) for d in rows] == ["sent", "sent", "pending", "pending", "pending"]

    worker.start(MAILBOX_DELAY=0)
    assert wait_for(
        lambda: all(state(d) == DeliveryState.SENT for d in rows), timeout=25, every=1, nudge=tasks.tick.delay
    )
    time.sleep(2)  # let any duplicate redelivery run
    assert [mailbox.sent(box, d.dedupe_key) for d in rows] == [1, 1, 1, 1, 1]


def test_two_ticks_in_two_processes_fire_every_timer_once(worker_env, pathway):
    referral = pathway.submitted()
    item = WorkItem.objects.get(referral=referral, kind="triage")
    due_reminders_on(item, 600, "race")  # on 600 steps: a step's due reminders go out as one message
    env = {**worker_env, "CAREPATH_TICK_BATCH": "25", "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    ticks = [
        subprocess.Popen([sys.executable, "manage.py", "tick"], cwd=ROOT, env=env, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [t.communicate(timeout=60)[0].decode() for t in ticks]

    assert all(t.returncode == 0 for t in ticks), outputs
    assert not Timer.objects.filter(key__startswith="race:").exclude(state=TimerState.DONE).exists()
    assert CaseEvent.objects.filter(referral=referral, kind="reminder").count() == 600
    assert Notification.objects.filter(referral=referral, kind="reminder").count() == 600  # one neurologist


class OwnRedis:
    """A Redis server of the test's own on a free port, keeping nothing on disk, so that restarting
    it (and losing what it held) touches no one else's Redis and none of the machine's settings."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url, self.proc = f"redis://127.0.0.1:{self.port}/0", None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        ping = ["redis-cli", "-p", str(self.port), "ping"]
        assert wait_for(lambda: subprocess.run(ping, capture_output=True).stdout.strip() == b"PONG")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(worker_env):
    need(shutil.which("redis-server") is not None, "redis-server (Debian package redis-server)")
    server = OwnRedis()
    server.start()
    worker_env["CELERY_BROKER_URL"] = server.url
    yield server
    server.stop()


def send(task, *args, url: str) -> None:
    """Queue `task` on the broker at `url` (the test's own Redis, not the app's configured one)."""
    with app.connection_for_write(url) as conn:
        task.apply_async(args, connection=conn, retry=False)


def test_a_worker_resumes_after_redis_restarts_and_nothing_queued_is_lost(own_redis, worker, box):
    worker.start()
    before = make_delivery("reliability:before-restart")
    send(tasks.deliver, [before.pk], url=own_redis.url)
    assert wait_for(lambda: state(before) == DeliveryState.SENT)
    lost = make_delivery("reliability:lost-with-redis")
    send(tasks.deliver, [lost.pk], url=own_redis.url)  # may die in Redis: it keeps nothing across the restart
    own_redis.stop()
    time.sleep(1)
    own_redis.start()
    after = make_delivery("reliability:after-restart")

    def nudge():
        try:
            send(tasks.tick, url=own_redis.url)
        except Exception:  # the broker may still be coming back
            pass

    assert wait_for(lambda: state(after) == state(lost) == DeliveryState.SENT, timeout=25, every=1, nudge=nudge)
    assert mailbox.sent(box, lost.dedupe_key) == 1 and mailbox.sent(box, after.dedupe_key) == 1


def test_a_transition_that_rolls_back_queues_nothing(worker_env, pathway, neuroradiologist, require_redis):
    import redis

    from imaging import reports as imaging_reports
    from tests.factories import FINDINGS_NVC

    app.conf.task_always_eager = True
    referral = pathway.performed()
    app.conf.task_always_eager = False
    before = set(Notification.objects.values_list("pk", flat=True))  # e.g. the referrer told of the booking
    queue = redis.Redis.from_url(require_redis)
    queue.flushdb()
    with pytest.raises(RuntimeError), transaction.atomic():
        imaging_reports.mri_sign_report(
            mri_request_id=pathway.mri(referral).pk,
            actor=neuroradiologist,
            findings=FINDINGS_NVC,
            impression="Mass in the CPA.",
            category="critical",
        )
        raise RuntimeError("the request fails after the report was signed")
    assert queue.llen("celery") == 0
    assert not Timer.objects.filter(kind=TimerKind.ALERT).exists()
    assert set(Notification.objects.values_list("pk", flat=True)) == before


def test_poison_ends_as_a_visible_dead_letter_without_blocking_others(worker, box, pathway):
    poison = make_delivery("reliability:poison", to="poison@example.org")
    good = make_delivery("reliability:good")
    broken = Timer.objects.create(
        key="reliability:broken",
        kind=TimerKind.FLAG_MISSED,
        due_at=timezone.now(),
        referral=pathway.submitted(),
        appointment=None,
        created_at=timezone.now(),
    )
    worker.start()
    tasks.deliver.delay([poison.pk, good.pk])
    tasks.tick.delay()

    def settled():
        broken.refresh_from_db()
        return state(poison) == DeliveryState.DEAD and broken.state == TimerState.DEAD

    assert wait_for(settled, timeout=25, every=1.5, nudge=tasks.tick.delay)
    poison.refresh_from_db()
    assert poison.attempts == 3 and "refuses" in poison.last_error
    assert state(good) == DeliveryState.SENT and mailbox.sent(box, good.dedupe_key) == 1
    assert "AttributeError" in broken.last_error
