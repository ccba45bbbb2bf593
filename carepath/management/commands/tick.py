"""`python manage.py tick [--now ISO-8601] [--force] [--status]`: the timer sweep, synchronously.

The same sweep Celery beat runs every minute (carepath.tick), done in this process: claim what is
due, apply it, send the deliveries. A cron fallback, and the way to demonstrate and test the
clocks: `--now` moves the clock (for everything this process does, so timeline events carry the
simulated time) and is refused unless DEBUG is on or `--force` is given.
"""

import contextlib
import json
from datetime import datetime
from unittest import mock

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from carepath.pathway import audit
from carepath.timers import sweep


class Command(BaseCommand):
    help = "Run the timer sweep now (reminders, escalations, family reminders, flag_missed, auto_close)."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Pretend it is this time (ISO-8601). Development and demos only.")
        parser.add_argument("--force", action="store_true", help="Allow --now when DEBUG is off.")
        parser.add_argument(
            "--status",
            action="store_true",
            help="Only report the backlog (oldest due timer, dead letters).",
        )
        parser.add_argument(
            "--max-lag",
            type=int,
            metavar="SECONDS",
            help="With --status: exit 1 when the oldest due timer is older than this (a health check).",
        )

    def handle(self, *args, now=None, force=False, status=False, max_lag=None, **options):
        at = self._parse_now(now, force)
        if status:
            report = sweep.status(at)
            self.stdout.write(json.dumps(report))
            if max_lag is not None and report["oldest_due_seconds"] > max_lag:
                raise CommandError(f"The sweep is {report['oldest_due_seconds']} s behind (limit {max_lag} s).")
            return
        token = audit.set_channel("command")
        try:
            with self._clock(at):
                result = sweep.run_sync(at)
        finally:
            audit.reset_channel(token)
        self.stdout.write(json.dumps(result))

    def _parse_now(self, raw: str | None, force: bool) -> datetime | None:
        if raw is None:
            return None
        if not settings.DEBUG and not force:
            raise CommandError("--now moves the clock; it is refused when DEBUG is off (add --force if you mean it).")
        at = parse_datetime(raw)
        if at is None:
            raise CommandError(f"--now {raw!r} is not an ISO-8601 date-time.")
        return at if timezone.is_aware(at) else timezone.make_aware(at)

    @contextlib.contextmanager
    def _clock(self, at: datetime | None):
        if at is None:
            yield
            return
        offset = at - timezone.now()
        real_now = timezone.now
        with mock.patch.object(timezone, "now", lambda: real_now() + offset):
            yield
