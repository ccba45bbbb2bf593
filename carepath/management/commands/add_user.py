"""`manage.py add_user USERNAME --role ROLE [--password P] [--email E]` (docs/design.md §8)."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from carepath.models import AuditLog
from carepath.pathway import audit
from carepath.pathway.roles import Role, ensure_role_groups

ASSIGNABLE = [r.value for r in Role if r != Role.SYSTEM]


class Command(BaseCommand):
    help = "Create a user (or update an existing one) with one CarePath role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ASSIGNABLE)
        parser.add_argument("--password", help="Default: a random password, printed once.")
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    @transaction.atomic
    def handle(self, *args, username, role, password, email, first_name, last_name, **options):
        username = username.strip()
        if not username or len(username) > 150:
            raise CommandError("USERNAME must be 1–150 characters.")
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from None
        ensure_role_groups()
        user.set_password(password)
        user.email = email or user.email
        user.first_name, user.last_name = first_name or user.first_name, last_name or user.last_name
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        token = audit.set_channel("command")
        try:
            audit.record(
                None,
                AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE,
                user,
                {"username": username, "role": role},
            )
        finally:
            audit.reset_channel(token)
        self.stdout.write(f"{'Created' if created else 'Updated'} {username} with role {role}.")
        if generated:
            self.stdout.write(f"Password: {password}")
