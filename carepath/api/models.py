"""API credentials and replay records (docs/design.md §5)."""

import hashlib

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


def token_digest(raw: str) -> str:
    """Tokens carry 256 bits of randomness, so a plain SHA-256 is enough to store them safely
    (a slow password hash would only slow every request down)."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def credential_of(user) -> str:
    """A digest of the user's password hash: stored on each token when it is issued and compared on
    every request, so a password changed by any path (the admin, `set_password` in a service or a
    command, even a bulk UPDATE that sends no signal) ends every token issued before it. A plain
    SHA-256 is enough: whoever can read it can read the password hash beside it."""
    return hashlib.sha256(user.password.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    """A bearer token: only its digest is stored; it expires and can be revoked by its owner or an admin."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to recognise it in lists.")
    credential = models.CharField(
        max_length=64,
        blank=True,
        help_text="Digest of the user's password hash at issue; a new password ends the token.",
    )
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, kept per user and key, so a retry
    replays it instead of acting twice (docs/design.md §5)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_and_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]  # purge of old keys

    def __str__(self):
        return f"{self.key} ({self.user_id})"
