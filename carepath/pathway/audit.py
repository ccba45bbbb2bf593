"""Audit: one append-only row per write and per read of a child's record (docs/security.md).

Writes are recorded by the services in the same transaction as the change (Zulip's actions layer);
reads by the views that show a child's record. `channel` says where the request came from; every row
also carries the request's client address, user agent and, for an API call, the token's id
(`RequestContext`, set by `carepath.web.middleware.AuditChannelMiddleware` and the bearer-token check).
"""

import dataclasses
import functools
from collections.abc import Iterable
from contextvars import ContextVar

from django.db import connection
from django.utils import timezone

from carepath.db import bulk
from carepath.models import AuditLog

_channel: ContextVar[str] = ContextVar("audit_channel", default="system")


@dataclasses.dataclass
class RequestContext:
    """Who was on the other end of the request: copied into each audit row it writes."""

    address: str | None = None
    user_agent: str = ""
    token_id: int | None = None


_NO_REQUEST = RequestContext()
_request: ContextVar[RequestContext] = ContextVar("audit_request", default=_NO_REQUEST)
USER_AGENT_MAX = 300


def set_request(*, address: str | None, user_agent: str):
    """Start a request's context; returns a token for `reset_request`."""
    return _request.set(RequestContext(address=address or None, user_agent=(user_agent or "")[:USER_AGENT_MAX]))


def reset_request(token) -> None:
    _request.reset(token)


def set_token(token_id: int) -> None:
    """The API token that authenticated this request (carepath/api/tokens.py)."""
    context = _request.get()
    if context is not _NO_REQUEST:
        context.token_id = token_id


def set_channel(channel: str):
    """Set the channel for this request or command; returns a token for `reset_channel`."""
    return _channel.set(channel)


def reset_channel(token) -> None:
    _channel.reset(token)


def _label(obj) -> str:
    return obj._meta.label_lower


def _patient_id(obj) -> int | None:
    return getattr(obj, "audit_patient_id", None)


def _create_read_row(**fields) -> None:
    """A read-audit row, committed without waiting for its WAL flush when it is its own transaction
    on PostgreSQL (docs/decisions.md, "Read audit durability"). Inside a larger transaction (a write,
    a request in ATOMIC_REQUESTS) nothing changes: the setting would cover the write's commit too."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        AuditLog.objects.create(**fields)
        return
    # One statement, its own implicit transaction, instead of four round trips (BEGIN, SET LOCAL,
    # INSERT, COMMIT): every read of a record pays it. `set_config(…, true)` lasts until that commit.
    with connection.cursor() as cursor:
        cursor.execute(_relaxed_insert_sql(""), _read_row_values(fields))


def _read_row_values(fields: dict) -> list:
    row = AuditLog(**fields)
    return [f.get_db_prep_save(getattr(row, f.attname), connection) for f in _insert_fields()]


def _create_row(**fields) -> None:
    """A write's audit row, in the write's transaction (one statement: every transition writes one)."""
    bulk.insert_later([AuditLog(**fields)])


@functools.cache
def _insert_fields() -> list:
    return [f for f in AuditLog._meta.concrete_fields if not f.primary_key]


RELAXED = "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"  # until this transaction ends


@functools.cache
def _relaxed_insert_sql(source: str) -> str:
    """The read-audit INSERT of one row of parameters, committed without waiting for its WAL flush:
    `INSERT … SELECT %s, … FROM <source> CROSS JOIN <set_config>`; with no `source`, one row always."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in _insert_fields())
    values = ", ".join(["%s"] * len(_insert_fields()))
    rows = f"{source} CROSS JOIN {RELAXED}" if source else RELAXED
    return f"INSERT INTO {qn(AuditLog._meta.db_table)} ({columns}) SELECT {values} FROM {rows}"  # noqa: S608  our SQL


def record(actor, action: str, obj, changes: dict | None = None) -> None:
    create = _create_read_row if action == AuditLog.Action.VIEW else _create_row
    create(**_row_fields(actor, action, _label(obj), str(obj.pk), changes or {}), patient_id=_patient_id(obj))


def record_view(actor, obj, what: str = "") -> None:
    record(actor, AuditLog.Action.VIEW, obj, {"what": what} if what else None)


def record_list(actor, model, object_ids: Iterable, query: str = "") -> None:
    """One row for a page of records shown in a list (who saw which children, when)."""
    fields = _list_row(actor, model, object_ids, query)
    if fields is not None:
        _create_read_row(**fields)


def list_along(actor, model, object_ids: Iterable, query: str = "") -> tuple[str, list] | None:
    """`record_list`, for a page whose rows are read next, as a statement to run in the same
    statement as that read (`CompiledValues.rows(along=…)`): the row is written if the read returns
    any row, in its implicit transaction. Returns None when there is nothing to send: no ids, or the
    row could not ride along (SQLite, inside a transaction) and has been written already."""
    fields = _list_row(actor, model, object_ids, query)
    if fields is None:
        return None
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        _create_read_row(**fields)
        return None
    return _relaxed_insert_sql("(SELECT 1 FROM read LIMIT 1) AS shown"), _read_row_values(fields)


def view_along(actor, model, what: str, *, id_column: str = "id", patient_column: str) -> tuple[str, list] | None:
    """`record_view` of the record a compiled read returns, as a statement to run in the same
    statement as that read (`CompiledValues.rows(along=…)`): an INSERT that selects from the read's
    row (`read`, with the record's id and its patient in these columns), so the row is written only
    for a record the caller was shown, with the patient it names, in the read's own implicit
    transaction (committed like `_create_read_row`'s, without waiting for the WAL flush). None when it
    cannot ride along (SQLite, inside a transaction): the caller then records the view after the read."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    fields = _row_fields(actor, AuditLog.Action.VIEW, model._meta.label_lower, "", {"what": what})
    sql = _along_sql(fields["object_type"], what, fields["channel"], id_column, patient_column)
    fields["actor_id"] = actor.pk
    return sql, [fields[name] for name in _ALONG_PARAMETERS]


# The columns `_along_sql` sends as parameters (each request's own), in the table's column order.
_ALONG_PARAMETERS = ("at", "actor_id", "actor_username", "address", "user_agent", "token_id")


@functools.cache
def _along_names() -> list[str]:
    return [f.attname for f in _insert_fields()]


@functools.cache
def _along_sql(object_type: str, what: str, channel: str, id_column: str, patient_column: str) -> str:
    """The INSERT of `view_along`: what is the same for every view of this kind is written in (quoted
    by psycopg); the time and the actor are parameters."""
    qn = connection.ops.quote_name

    def literal(value) -> str:
        return connection.ops.compose_sql("%s", [value]).replace("%", "%%")  # `%` is not a placeholder here

    given = {
        **{name: "%s" for name in _ALONG_PARAMETERS},
        "action": literal(AuditLog.Action.VIEW.value),
        "object_type": literal(object_type),
        "object_id": f"r.{qn(id_column)}::text",
        "patient_id": f"r.{qn(patient_column)}",
        "changes": literal(_insert_value("changes", {"what": what})),
        "channel": literal(channel),
    }
    names = _along_names()
    if set(names) != set(given) or [n for n in names if n in _ALONG_PARAMETERS] != list(_ALONG_PARAMETERS):
        raise RuntimeError("AuditLog's columns changed: update audit._along_sql")
    columns = ", ".join(qn(f.column) for f in _insert_fields())
    values = ", ".join(given[name] for name in names)
    return (
        f"INSERT INTO {qn(AuditLog._meta.db_table)} ({columns}) SELECT {values} "  # noqa: S608  our SQL
        f"FROM read AS r CROSS JOIN {RELAXED}"
    )


def _insert_value(attname: str, value):
    field = AuditLog._meta.get_field(attname)
    return field.get_db_prep_save(value, connection)


def _row_fields(actor, action: str, object_type: str, object_id: str, changes: dict) -> dict:
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    context = _request.get()
    return {
        "at": timezone.now(),
        "actor": actor if authenticated else None,
        "actor_username": actor.get_username() if authenticated else "",
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "changes": changes,
        "channel": _channel.get(),
        "address": context.address,
        "user_agent": context.user_agent,
        "token_id": context.token_id,
    }


def _list_row(actor, model, object_ids: Iterable, query: str) -> dict | None:
    ids = [str(i) for i in object_ids]
    if not ids:
        return None
    return _row_fields(actor, AuditLog.Action.LIST, model._meta.label_lower, "", {"ids": ids, "query": query[:500]})


def record_event(actor, action: str, object_type: str, object_id="", *, patient_id=None, changes=None) -> None:
    """A row for something that is not a read or write of one loaded record: a denied attempt, a
    failed sign-in, a replayed answer, a download. Written at once and durably (they are rare)."""
    fields = _row_fields(actor, action, object_type, str(object_id or "")[:64], changes or {})
    AuditLog.objects.create(**fields, patient_id=patient_id)


def sign_in_failed(sender, credentials=None, request=None, **kwargs) -> None:
    """Receiver of Django's `user_login_failed`: every failed sign-in, whichever door (web, admin,
    API token) called `authenticate()`. The typed username is kept (the password never is)."""
    from django.contrib.auth import get_user_model

    username = str((credentials or {}).get("username", ""))[:150]
    user_id = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
    record_event(None, AuditLog.Action.SIGN_IN_FAILED, "auth.user", user_id or "", changes={"username": username})
