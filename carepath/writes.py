"""A transition's writes, compiled once and prepared per database session (docs/decisions.md,
"Compiled transition writes").

Every transition updates its case's row, closes a work item (and its timers) and opens the next.
Built by the ORM, those three statements cost ~2.5 ms of CPU per triage, more than PostgreSQL's
work for the whole transition. Here each is built by the ORM once, from the same querysets and
fields as before (so the ORM stays their one definition), and run as a prepared `EXECUTE` with only
its values: the compiler of `carepath.compiled`, used for UPDATEs. Elsewhere than PostgreSQL (SQLite,
the demo) `save_fields` runs its SQL unprepared and `CompiledUpdate` is the ORM's update.

What this skips of `Model.save`: the `pre_save`/`post_save` signals. No receiver listens to the
models written here (referrals, MRI requests, work items, timers); tests/test_writes.py fails if
one is connected, so whoever adds one sees this first.
"""

from collections.abc import Callable, Hashable
from functools import cache

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model, QuerySet
from django.db.models.sql import UpdateQuery

from .compiled import _EMPTY, CompiledValues, _argument_slots, _Plan, _prepared, prepared


def save_fields(obj: Model, fields: tuple[str, ...]) -> None:
    """`obj.save(update_fields=fields)` for a row a transition has locked: `UPDATE … WHERE pk`."""
    connection = connections[DEFAULT_DB_ALIAS]
    model_fields = _fields(type(obj), tuple(fields))
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in model_fields]
    params.append(obj.pk)
    sql = _update_by_pk_sql(type(obj), tuple(fields))
    with connection.cursor() as cursor:
        cursor.execute(prepared(connection, sql) if connection.vendor == "postgresql" else sql, params)
        if cursor.rowcount != 1:  # as Model.save says it for update_fields
            raise DatabaseError("Save with update_fields did not affect any rows.")


@cache
def _fields(model: type[Model], names: tuple[str, ...]) -> list:
    found = [model._meta.get_field(name) for name in names]
    if any(not f.concrete or f.primary_key for f in found):
        raise ValueError(f"save_fields writes concrete, non-key fields of {model.__name__}: {names}")
    return found


@cache
def _update_by_pk_sql(model: type[Model], names: tuple[str, ...]) -> str:
    qn = connections[DEFAULT_DB_ALIAS].ops.quote_name
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in _fields(model, names))
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    return f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608  our names; values are parameters


class CompiledUpdate:
    """`build(**args)` returns `(queryset, values)`; `run(shape, **args)` does
    `queryset.update(**values)` and returns the number of rows. On PostgreSQL the SQL is compiled
    once per `shape` (what changes its text besides `args`) and each call's values are swapped in
    as `CompiledValues` swaps them."""

    def __init__(self, build: Callable[..., tuple[QuerySet, dict]]):
        self.build = build
        self._plans: dict[tuple, _Plan | object] = {}

    def run(self, shape: Hashable = None, /, **args) -> int:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":  # SQLite adapts values (datetimes to text) as it compiles
            queryset, values = self.build(**args)
            return queryset.update(**values)
        key = (shape, tuple(sorted(args)))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._compile(args)
        if plan is _EMPTY:
            return 0
        params = CompiledValues._params(plan, args)
        with connection.cursor() as cursor:
            cursor.execute(_prepared(connection, plan), [params[i] for i in plan.kept])
            return cursor.rowcount

    def _compile(self, args: dict):
        first, second = CompiledValues._stand_ins(args), CompiledValues._stand_ins(args)
        try:
            sql, params = self._sql(first)
            sql_again, params_again = self._sql(second)
        except EmptyResultSet:
            return _EMPTY
        if sql != sql_again:
            raise ValueError("the update's SQL depends on the arguments' values: name what changes it in `shape`")
        slots = _argument_slots(params, params_again, first, second)
        return _Plan(
            sql=sql,
            params=tuple(params),
            slots=slots,
            kept=tuple(sorted(slots)),
            names=[],
            compiler=None,
            converters={},
        )

    def _sql(self, stand_ins: dict):
        queryset, values = self.build(**{name: stand_in for name, (stand_in, _) in stand_ins.items()})
        query = queryset.query.chain(UpdateQuery)  # what QuerySet.update builds
        query.add_update_values(values)
        query.annotations = {}
        return query.get_compiler(queryset.db).as_sql()
