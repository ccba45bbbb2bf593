"""One INSERT for many rows of a model, for the timer sweep's batches (`timers.fire_batch` writes the
events, notifications and deliveries of up to `CAREPATH_TICK_BATCH` timers at a time).

On PostgreSQL the rows travel as one JSON document that `json_populate_recordset` turns back into
rows of the table, in a single INSERT … ON CONFLICT DO NOTHING RETURNING. Django's `bulk_create`
prepares every field of every row in Python and its psycopg cursor quotes every value client-side
(~50 µs of CPU a row of ours); `json.dumps` and PostgreSQL's JSON parser do that work in C (~20 µs),
and RETURNING gives the new rows' ids without a second query. The INSERT's text is the same for
every call on a model, so it is prepared once per database session (`compiled.prepared`). Other
databases (SQLite, the demo) get `bulk_create` and two small queries.
"""

import json
from datetime import datetime
from functools import cache

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import DateTimeField, JSONField, Model

from carepath.db.compiled import prepared
from carepath.db.writes import later


def insert(objs: list[Model], *, key: str | None = None) -> dict:
    """Insert unsaved instances of one model. With `key` (a unique field), a row whose key is taken
    is skipped, and {key: id} of the rows inserted is returned."""
    if not objs:
        return {}
    model, columns = _model_columns(objs)
    if connection.vendor == "postgresql":
        return _insert_json(model, columns, objs, key)
    return _insert_orm(model, objs, key)


def insert_later(objs: list[Model], *, key: str | None = None) -> None:
    """`insert`, for rows whose ids nobody reads: inside a transition (`writes.batched`) the INSERT
    travels with the next statement. With `key`, a row whose key is taken is skipped."""
    if not objs:
        return
    model, columns = _model_columns(objs)
    if connection.vendor != "postgresql":
        _insert_orm(model, objs, key)
        return
    sql = _insert_sql(model, None)
    if key is not None:
        sql += " ON CONFLICT DO NOTHING"
    later(prepared(connection, sql), [_document(columns, objs)])


def _model_columns(objs: list[Model]) -> tuple[type[Model], tuple]:
    """The model of `objs` and its columns; refuses a model this cannot write, whatever the database."""
    model = type(objs[0])
    return model, _columns(model)


def insert_one(obj: Model) -> None:
    """Insert one unsaved instance and set its primary key, as `save()` would (one prepared
    statement on PostgreSQL; every transition that opens a work item writes one)."""
    model, columns = _model_columns([obj])
    if connection.vendor != "postgresql":
        obj.save(force_insert=True)
        return
    with connection.cursor() as cursor:
        sql = f"{_insert_sql(model, None)} RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
        cursor.execute(prepared(connection, sql), [_document(columns, [obj])])
        (obj.pk,) = cursor.fetchone()
    obj._state.adding, obj._state.db = False, connection.alias


def _insert_json(model: type[Model], columns: tuple, objs: list[Model], key: str | None) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(prepared(connection, _insert_sql(model, key)), [_document(columns, objs)])
        return dict(cursor.fetchall()) if key else {}


def _document(columns: tuple, objs: list[Model]) -> str:
    # Datetimes go as full ISO strings (DjangoJSONEncoder would cut them to milliseconds); what is
    # left for the encoder is inside JSON fields, which it encodes as their field does (_columns).
    return json.dumps(
        [
            {
                column: _iso(getattr(obj, attname)) if is_datetime else getattr(obj, attname)
                for column, attname, is_datetime in columns
            }
            for obj in objs
        ],
        cls=DjangoJSONEncoder,
    )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.utcoffset() is None:  # the ORM would read it in TIME_ZONE, the database in UTC: refuse
        raise TypeError(f"bulk.insert needs aware datetimes, not {value!r}")
    return value.isoformat()


def _insert_orm(model: type[Model], objs: list[Model], key: str | None) -> dict:
    if key is None:
        model.objects.bulk_create(objs)
        return {}
    # Exact on SQLite: the write transaction holds the database, so no key is taken in between.
    keys = [getattr(obj, key) for obj in objs]
    taken = set(model.objects.filter(**{f"{key}__in": keys}).values_list(key, flat=True))
    model.objects.bulk_create([obj for obj in objs if getattr(obj, key) not in taken], ignore_conflicts=True)
    return dict(model.objects.filter(**{f"{key}__in": set(keys) - taken}).values_list(key, "pk"))


@cache
def _columns(model: type[Model]) -> tuple[tuple[str, str, bool], ...]:
    """(column, attribute, is a datetime) of every field but the primary key. Refuses what a plain
    copy of the attributes would get wrong: values computed on save, JSON encoders of their own."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for f in fields:
        computed = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        own_encoder = isinstance(f, JSONField) and f.encoder not in (None, DjangoJSONEncoder)
        if computed or own_encoder:
            raise TypeError(f"bulk.insert cannot write {model.__name__}.{f.name}: use bulk_create")
    return tuple((f.column, f.attname, isinstance(f, DateTimeField)) for f in fields)


@cache
def _insert_sql(model: type[Model], key: str | None) -> str:
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    names = ", ".join(qn(column) for column, _, _ in _columns(model))
    sql = f"INSERT INTO {table} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table}, %s)"  # noqa: S608  our names; the rows are a parameter
    if key is None:
        return sql
    returning = f"{qn(model._meta.get_field(key).column)}, {qn(model._meta.pk.column)}"
    return f"{sql} ON CONFLICT DO NOTHING RETURNING {returning}"
