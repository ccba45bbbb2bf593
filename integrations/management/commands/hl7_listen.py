"""`manage.py hl7_listen`: the MLLP listener for the RIS's HL7 v2 messages, as its own process
(docker-compose `hl7`, `./dev up`; docs/integrations.md, "HL7 v2")."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from carepath.pathway.roles import Role, has_role
from integrations.hl7.mllp import Listener


class Command(BaseCommand):
    help = "Listen for HL7 v2 messages over MLLP and acknowledge each after its effects commit."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HL7_MLLP_HOST)
        parser.add_argument("--port", type=int, default=settings.HL7_MLLP_PORT)
        parser.add_argument("--user", default=settings.HL7_MLLP_USER, help="The RIS's integration user.")

    def handle(self, *args, host, port, user, **options):
        actor = get_user_model().objects.filter(username=user, is_active=True).first()
        if actor is None or not has_role(actor, Role.RIS_CLIENT):
            raise CommandError(f"{user!r} must be an active user with the role {Role.RIS_CLIENT.value}.")
        with Listener((host, port), actor=actor) as server:
            self.stdout.write(f"HL7 MLLP listener on {host}:{server.server_address[1]} as {user}", ending="\n")
            self.stdout.flush()
            try:
                server.serve_forever(poll_interval=0.2)
            except KeyboardInterrupt:
                pass
