"""`manage.py outbox_relay`: the outbox's relay as its own long-lived process (docker-compose `relay`,
`./dev up`; docs/integrations.md, "The outbox"): every `--interval` seconds it fans out the events
committed since (integrations/outbox/relay.py), at once again while it finds full batches."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from integrations.outbox import relay

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Fan out committed outbox events to their webhook endpoints and FHIR subscriptions, polling."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.CAREPATH_OUTBOX_RELAY_INTERVAL_MS / 1000,
            help="Seconds between polls when nothing is waiting (default: CAREPATH_OUTBOX_RELAY_INTERVAL_MS, 200 ms).",
        )
        parser.add_argument("--batch", type=int, default=relay.BATCH, help="Most events fanned out per transaction.")
        parser.add_argument("--once", action="store_true", help="Fan out what is waiting, then stop.")

    def handle(self, *args, interval, batch, once, **options):
        if interval <= 0 or batch < 1:
            raise CommandError("--interval must be positive and --batch at least 1.")
        if once:
            self.stdout.write(f"fanned out {relay.relay_all(batch)} events")
            return
        self.stdout.write(f"outbox relay: polling every {interval:g} s, batches of {batch}", ending="\n")
        self.stdout.flush()
        try:
            while True:
                if len(poll(batch)) < batch:
                    time.sleep(interval)
        except KeyboardInterrupt:
            pass


def poll(batch: int) -> list[int]:
    """One pass; a lost database connection is closed (the next pass opens a new one), not fatal."""
    try:
        return relay.relay_once(batch)
    except DatabaseError:
        log.exception("outbox relay: pass failed; retrying")
        connection.close()
        return []
