"""`manage.py hl7_listen`: the MLLP listener for the RIS's HL7 v2 messages, as its own process
(docker-compose `hl7`, `./dev up`; docs/integrations.md, "HL7 v2"). `--workers N` serves the one
socket from N processes (integrations/hl7/workers.py)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from carepath.pathway.roles import Role, has_role
from integrations.hl7.mllp import MAX_BATCH, Listener
from integrations.hl7.workers import serve


class Command(BaseCommand):
    help = "Listen for HL7 v2 messages over MLLP and acknowledge each after its effects commit."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HL7_MLLP_HOST)
        parser.add_argument("--port", type=int, default=settings.HL7_MLLP_PORT)
        parser.add_argument("--user", default=settings.HL7_MLLP_USER, help="The RIS's integration user.")
        parser.add_argument(
            "--workers", type=int, default=1, help="Processes serving the socket (pre-fork); 1: this process."
        )
        parser.add_argument(
            "--max-batch", type=int, default=MAX_BATCH, help="Most messages committed together in one transaction."
        )

    def handle(self, *args, host, port, user, workers, max_batch, **options):
        actor = get_user_model().objects.filter(username=user, is_active=True).first()
        if actor is None or not has_role(actor, Role.RIS_CLIENT):
            raise CommandError(f"{user!r} must be an active user with the role {Role.RIS_CLIENT.value}.")
        if workers < 1 or max_batch < 1:
            raise CommandError("--workers and --max-batch must be at least 1.")
        with Listener((host, port), actor=actor, max_batch=max_batch) as server:
            shape = f", {workers} worker processes" if workers > 1 else ""
            self.stdout.write(f"HL7 MLLP listener on {host}:{server.server_address[1]} as {user}{shape}", ending="\n")
            self.stdout.flush()
            try:
                serve(server, workers)
            except KeyboardInterrupt:
                pass
