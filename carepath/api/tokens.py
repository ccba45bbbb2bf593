"""Bearer tokens: issue, authenticate, revoke (DESIGN.md §5). Only digests are stored."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import OuterRef
from django.utils import timezone
from rest_framework import authentication, exceptions

from carepath import audit
from carepath.errors import Forbidden
from carepath.models import AuditLog
from carepath.roles import Role, is_admin

from .models import ApiToken, token_digest

TOKEN_PREFIX = "cp_"
# Writing last_used_at on every request would turn every read into a write; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_ttl() -> timedelta:
    return timedelta(hours=getattr(settings, "API_TOKEN_TTL_HOURS", 24 * 30))


@transaction.atomic
def token_issue(*, user, name: str = "") -> tuple[ApiToken, str]:
    """Returns the row and the raw token; the raw token is shown once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        digest=token_digest(raw),
        prefix=raw[:10],
        name=name[:100],
        created_at=now,
        expires_at=now + token_ttl(),
    )
    audit.record(user, AuditLog.Action.CREATE, token, {"prefix": token.prefix, "expires_at": token.expires_at})
    return token, raw


@transaction.atomic
def token_revoke(*, token_id: int, actor) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token_id)
    if token.user_id != actor.pk and not is_admin(actor):
        raise Forbidden("Only the token's owner or an admin may revoke it.")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = timezone.now(), actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit.record(actor, AuditLog.Action.UPDATE, token, {"revoked": True})
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send exactly one token: 'Authorization: Bearer <token>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return self._check(raw)

    def _check(self, raw: str):
        token = _with_role_names(ApiToken.objects.select_related("user")).filter(digest=token_digest(raw)).first()
        now = timezone.now()
        if token is None or token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        _cache_roles(token)
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


def _with_role_names(tokens):
    """On PostgreSQL, the user's group names come with the token (one query instead of two per request)."""
    if connection.vendor != "postgresql":
        return tokens
    from django.contrib.postgres.expressions import ArraySubquery

    return tokens.annotate(role_names=ArraySubquery(Group.objects.filter(user=OuterRef("user_id")).values("name")))


def _cache_roles(token: ApiToken) -> None:
    """Fill the cache `carepath.roles.user_roles` reads, with the same rule (superusers are admins)."""
    names = getattr(token, "role_names", None)
    if names is None:
        return
    roles = frozenset(names)
    token.user._carepath_roles = roles | {Role.ADMIN} if token.user.is_superuser else roles
