"""Bearer tokens: issue, authenticate, revoke (docs/design.md §5). Only digests are stored."""

import secrets
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import OuterRef
from django.utils import timezone
from rest_framework import authentication, exceptions

from carepath.db.compiled import CompiledValues
from carepath.models import AuditLog
from carepath.pathway import audit
from carepath.pathway.errors import Forbidden
from carepath.pathway.roles import Role, is_admin

from .models import ApiToken, credential_of, token_digest

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
        credential=credential_of(user),
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


def revoke_on_credential_change(sender, instance, update_fields=None, **kwargs) -> None:
    """Receiver of a user's save: a deactivated user's tokens, and tokens issued before the user's
    current password, are marked revoked at once (the request check above already refuses them;
    this makes it permanent, so reactivating the user revives nothing, and visible in token lists)."""
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. last_login at each sign-in
    live = ApiToken.objects.filter(user_id=instance.pk, revoked_at__isnull=True)
    if instance.is_active:
        live = live.exclude(credential=credential_of(instance))
    live.update(revoked_at=timezone.now())


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
        digest = token_digest(raw)
        row = RECENT.get(digest)
        if row is None:
            row = _token_row(digest)
            if row is not None:
                RECENT.put(digest, row)
        token = None if row is None else _token_from_row(row)
        now = timezone.now()
        if (
            token is None
            or token.revoked_at is not None
            or token.expires_at <= now
            or not token.user.is_active
            or token.credential != credential_of(token.user)  # the password changed since it was issued
        ):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        audit.set_token(token.pk)  # every audit row of this request names the token
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            row["last_used_at"] = token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


def _token_values(digest: str):
    """The token, its user and (on PostgreSQL) the user's group names: one query per request."""
    tokens = ApiToken.objects.filter(digest=digest)
    columns = [*_TOKEN_COLUMNS, *(f"user__{name}" for name in _USER_COLUMNS)]
    if connection.vendor != "postgresql":
        return tokens.values(*columns)
    from django.contrib.postgres.expressions import ArraySubquery

    return tokens.values(
        *columns, role_names=ArraySubquery(Group.objects.filter(user=OuterRef("user_id")).values("name"))
    )


_TOKEN_COLUMNS = [f.attname for f in ApiToken._meta.concrete_fields]
_USER_COLUMNS = [f.attname for f in get_user_model()._meta.concrete_fields]
_TOKEN = CompiledValues(_token_values)


def _token_row(digest: str) -> dict | None:
    found = _TOKEN.rows(connection.vendor, digest=digest)
    return found[0] if found else None


def _token_from_row(row: dict) -> ApiToken:
    """New model instances for this request, from a row that may be shared with other requests."""
    user = get_user_model().from_db(DEFAULT_DB_ALIAS, _USER_COLUMNS, [row[f"user__{n}"] for n in _USER_COLUMNS])
    token = ApiToken.from_db(DEFAULT_DB_ALIAS, _TOKEN_COLUMNS, [row[n] for n in _TOKEN_COLUMNS])
    token.user = user
    # fill the cache `carepath.pathway.roles.user_roles` reads, with its rule (superusers are admins)
    if "role_names" in row:
        roles = frozenset(row["role_names"])
        user._carepath_roles = roles | {Role.ADMIN} if user.is_superuser else roles
    return token


class RecentTokens:
    """The rows of tokens this process authenticated in the last `API_TOKEN_CACHE_SECONDS` (default
    5), so that a client's burst of requests looks its token up once (docs/decisions.md, "Token
    look-ups"). Expiry is still checked on every request. A revocation, a user's deactivation or a
    change of their groups made in this process clears it at once (signals, carepath/api/apps.py);
    made in another process, it takes effect there within the window. 0 turns it off."""

    def __init__(self, size: int = 1024):
        self.size, self._rows, self._lock = size, {}, threading.Lock()

    @staticmethod
    def seconds() -> float:
        return float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 5))

    def get(self, digest: str) -> dict | None:
        found = self._rows.get(digest)
        if found is None:
            return None
        until, row = found
        if time.monotonic() >= until:
            self._rows.pop(digest, None)
            return None
        return row

    def put(self, digest: str, row: dict) -> None:
        seconds = self.seconds()
        if seconds <= 0 or connection.in_atomic_block:  # a row read inside a transaction may roll back
            return
        with self._lock:
            if len(self._rows) >= self.size:
                self._rows.clear()
            self._rows[digest] = (time.monotonic() + seconds, row)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def changed(self, sender, **kwargs) -> None:
        """Receiver of a token's, a user's or a user's groups' change: forget every token once the
        change has committed (not before, or a request in between could keep the old row)."""
        transaction.on_commit(self.clear, using=kwargs.get("using"))


RECENT = RecentTokens()
