"""A service's writes: compiled once and prepared per database session, and those whose results it
does not read sent together (docs/decisions.md, "Compiled queries").

Every transition updates its case's row, closes a work item (and its timers) and opens the next.
Built by the ORM, those statements cost ~2.5 ms of CPU per triage, more than PostgreSQL's work for
the whole transition. Here each is built by the ORM once, from the same querysets and fields as
before (so the ORM stays their one definition), and run as a prepared `EXECUTE` with only its
values: the compiler of `carepath.db.compiled`, used for UPDATEs. Elsewhere than PostgreSQL (SQLite,
the demo) `save_fields` runs its SQL unprepared and `CompiledUpdate` is the ORM's update.

What this skips of `Model.save`: the `pre_save`/`post_save` signals. No receiver listens to the
models written here (referrals, MRI requests, work items, timers); tests/db/test_writes.py fails if
one is connected, so whoever adds one sees this first.
"""

import functools
from collections.abc import Hashable
from contextlib import contextmanager
from functools import cache

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import Model
from django.db.models.sql import UpdateQuery

from carepath.db.compiled import EMPTY, Compiled, Plan, prepared, prepared_plan


def save_fields(obj: Model, fields: tuple[str, ...]) -> None:
    """`obj.save(update_fields=fields)` for a row a transition has locked: `UPDATE … WHERE pk`, sent
    `later` (inside `batched`, with the next statement)."""
    connection = connections[DEFAULT_DB_ALIAS]
    model_fields = _fields(type(obj), tuple(fields))
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in model_fields]
    params.append(obj.pk)
    sql = _update_by_pk_sql(type(obj), tuple(fields))
    later(prepared(connection, sql) if connection.vendor == "postgresql" else sql, params, rows=1)


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


class CompiledUpdate(Compiled):
    """`build(**args)` returns `(queryset, values)`; `run(shape, **args)` does
    `queryset.update(**values)` and returns the number of rows. On PostgreSQL the SQL is compiled
    once per `shape` (what changes its text besides `args`) and each call's values are swapped in
    as `CompiledValues` swaps them."""

    def run(self, shape: Hashable = None, /, **args) -> int:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":  # SQLite adapts values (datetimes to text) as it compiles
            queryset, values = self.build(**args)
            return queryset.update(**values)
        statement = self._statement(shape, args)
        if statement is None:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(*statement)
            return cursor.rowcount

    def later(self, shape: Hashable = None, /, **args) -> None:
        """`run`, its row count unread: sent `later` on PostgreSQL."""
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            self.run(shape, **args)
        elif (statement := self._statement(shape, args)) is not None:
            later(*statement)

    def _statement(self, shape: Hashable, args: dict) -> tuple[str, list] | None:
        """The plan's `EXECUTE` and this call's values (PostgreSQL); None if the shape matches nothing."""
        plan = self._plan(shape, args)
        if plan is EMPTY:
            return None
        params = self._params(plan, args)
        return prepared_plan(connections[DEFAULT_DB_ALIAS], plan), [params[i] for i in plan.kept]

    def _compile(self, args: dict):
        twice = self._twice(args)
        if twice is EMPTY:
            return EMPTY
        (sql, params), slots = twice
        return Plan(
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


# --- writes whose results a service does not read, sent with its next statement -------------------
# A triage sent 11 statements, each a round trip in which the web or worker process and its
# PostgreSQL backend wait for each other while the case's row stays locked. Most of them (the
# timeline event, the audit row, the case's UPDATE, cancelling timers, closing the step) return
# nothing the service reads, so inside `atomic` they wait in a queue and travel in front of the next
# statement the connection sends (one string, several results), or alone before the commit.


def atomic(func):
    """`transaction.atomic` for a service, with `batched` inside it: what the service queues with
    `later` is sent before the transaction commits, and dropped with it when it rolls back."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        with transaction.atomic(), batched():
            return func(*args, **kwargs)

    return run


@contextmanager
def batched():
    """Within: `later` queues its statement (PostgreSQL; elsewhere it runs at once). Every statement
    the connection executes meanwhile (a read, a savepoint, a `PREPARE`) sends the queue in front of
    it, so nothing reads around a queued write; what is left is sent on the way out. Nested, it
    leaves the work to the outermost."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" or getattr(connection, "_carepath_later", None) is not None:
        yield
        return
    connection._carepath_later = []
    try:
        with connection.execute_wrapper(_queued_first):
            yield
            flush()
    finally:
        connection._carepath_later = None  # on an error the enclosing transaction rolls back: nothing to send


def later(sql: str, params: list, *, rows: int | None = None) -> None:
    """Run `sql` (its results unread) with the connection's next statement inside `batched`, else now.
    `rows`: how many rows it must change; otherwise DatabaseError, when it runs."""
    connection = connections[DEFAULT_DB_ALIAS]
    queue = getattr(connection, "_carepath_later", None)
    if queue is not None:
        queue.append((sql, list(params), rows))
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        _check(cursor, rows)


def flush() -> None:
    """Send what is queued now, in one round trip."""
    connection = connections[DEFAULT_DB_ALIAS]
    queue = getattr(connection, "_carepath_later", None)
    if queue:
        pending = queue[:]
        queue.clear()
        with connection.cursor() as cursor:
            cursor.execute(*_joined(pending))
            _step(cursor, pending)


def _queued_first(execute, sql, params, many, context):
    """Execute wrapper: the queued statements, then this one, as one string; the cursor is left on
    this one's result. Client-side binding (Django's default) sends it as one simple query."""
    queue = context["connection"]._carepath_later
    if not queue:
        return execute(sql, params, many, context)
    pending = queue[:]
    queue.clear()
    if many or isinstance(params, dict):  # not joinable: the queue goes first, alone
        execute(*_joined(pending), False, context)
        _step(context["cursor"], pending)
        return execute(sql, params, many, context)
    own = sql if params is not None else sql.replace("%", "%%")  # without parameters, % is literal
    result = execute(*_joined([*pending, (own, list(params or ()), None)]), False, context)
    _step(context["cursor"], pending)
    return result


def _joined(statements: list) -> tuple[str, list]:
    return "; ".join(sql for sql, _, _ in statements), [value for _, params, _ in statements for value in params]


def _step(cursor, pending: list) -> None:
    """Check each queued statement's row count and move the cursor past its result."""
    for _, _, rows in pending:
        _check(cursor, rows)
        cursor.nextset()


def _check(cursor, rows: int | None) -> None:
    if rows is not None and cursor.rowcount != rows:  # as Model.save says it for update_fields
        raise DatabaseError(f"An update expected to change {rows} row(s) changed {cursor.rowcount}.")
