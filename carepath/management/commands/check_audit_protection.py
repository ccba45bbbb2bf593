"""`manage.py check_audit_protection`: run with the application's DATABASE_URL; tries every way to
change the audit log (each rolled back) and fails if any works (carepath/db/roles.py)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from carepath.db import roles as db_roles


class Command(BaseCommand):
    help = "Prove the connected role cannot UPDATE, DELETE, TRUNCATE, disable triggers on or drop the audit log."

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Only PostgreSQL enforces roles; SQLite is for development.")
        holes = []
        for name, error in db_roles.tamper_attempts().items():
            self.stdout.write(f"{name}: {'refused (' + error + ')' if error else 'ALLOWED'}")
            if error is None:
                holes.append(name)
        if holes:
            raise CommandError(f"The connected role can change the audit log: {', '.join(holes)}.")
        self.stdout.write("The audit log is append-only for this role.")
