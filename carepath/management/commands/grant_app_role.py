"""`manage.py grant_app_role ROLE`: run as the owner after `migrate`, gives the application role
read and write on every table but append and read only on the audit log (carepath/db/roles.py)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from carepath.db import roles as db_roles


class Command(BaseCommand):
    help = "Grant the application's PostgreSQL role its rights (append-only audit log). Run as the owner."

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role web processes, workers and beat connect as")

    def handle(self, *args, role: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Roles are a PostgreSQL matter; nothing to grant on this database.")
        problems = db_roles.role_problems(role)
        if problems:
            raise CommandError("; ".join(problems) + ": the audit log would not be protected from it.")
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in db_roles.grant_statements(role):
                cursor.execute(statement)
        self.stdout.write(f"Granted {role}: read and write on every table, INSERT and SELECT only on the audit log.")
