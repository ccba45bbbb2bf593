"""Hot read queries compiled once per shape, then run as plain SQL (docs/decisions.md, "Compiled
read queries").

The ORM spends 1–2 ms turning a `.values()` queryset with subqueries and ~50 columns into SQL, several
times what PostgreSQL takes to run it, and the API's detail and sign-in queries run on every request.
`CompiledValues` builds the queryset once per *shape* (what changes the SQL text, such as the caller's
roles) with sentinel values standing in for the per-call ones (ids, a token digest, the user), keeps the
SQL, its parameters and the ORM's converters, and on each call only swaps the real values into the
parameters. The queryset stays the one definition of the query: the access rules, columns and
subqueries are still written with the ORM, and rows come back exactly as `.values()` returns them
(tests/db/test_compiled.py compares the two). On PostgreSQL each plan is prepared in SQL once per
database session (`PREPARE`), and each call sends a short `EXECUTE` with its values.
"""

import copy
import hashlib
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Lookup, Model, QuerySet

_serial = count(1)


def _sentinel(value):
    """A stand-in the ORM copies into the parameters unchanged, and that no real value equals."""
    n = next(_serial)
    if isinstance(value, Model):  # e.g. the user an access rule filters on; keeps its cached roles
        stand_in = copy.copy(value)
        stand_in.pk = -(2**62) - n
        return stand_in, stand_in.pk
    if isinstance(value, list):  # a list of ids, sent as one array parameter (`AnyOf`)
        marker = [-(2**62) - n]
        return marker, marker
    if isinstance(value, datetime):  # a page's position (PostgreSQL takes aware datetimes as they are)
        marker = datetime(1, 1, 1, tzinfo=UTC) + timedelta(microseconds=n)
        return marker, marker
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"CompiledValues takes ids, lists of ids, strings, datetimes and models, not {type(value)}")
    marker = -(2**62) - n if isinstance(value, int) else f"\x00compiled-{n}\x00"
    return marker, marker


class AnyOf(Lookup):
    """`lhs = ANY(%s)` with the list as one array parameter (PostgreSQL): the same SQL for any number
    of ids, so it can be compiled once. Used as an expression: `.filter(AnyOf(F("pk"), ids))`."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*params, self.rhs)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a session's statements are keyed by it
class Plan:
    sql: str
    params: tuple  # as compiled; the positions in `slots` take this call's values
    slots: dict[int, str]  # position in `params` → argument name
    kept: tuple[int, ...]  # the positions sent with each call (the arguments' and a window's); the rest are constants
    names: list[str]
    compiler: object
    converters: dict


def _argument_slots(params, again, first: dict, second: dict) -> dict[int, str]:
    """Where each argument sits in `params` (compiled with the `first` stand-ins), checked against
    `again` (compiled with the `second`): a parameter that changes with the stand-ins must be exactly
    one argument's stand-in. Anything else that changes (`pk + 1`, a list built from an argument) is
    derived from a value the plan would freeze, and is refused."""
    if len(params) != len(again):
        raise ValueError("the query's parameters depend on the arguments' values")
    slots = {}
    for i, (a, b) in enumerate(zip(params, again, strict=True)):
        name = _argument(a, first)
        if name is not None and _argument(b, second) == name:
            slots[i] = name
        elif a != b:
            raise ValueError("an argument reached the SQL in a form CompiledValues cannot substitute")
    return slots


def _argument(param, stand_ins: dict) -> str | None:
    """The name of the argument whose stand-in this parameter is, if any."""
    for name, (_, marker) in stand_ins.items():
        if type(param) is type(marker) and param == marker:
            return name
    return None


def prepared_plan(connection, plan: Plan, along: str = "") -> str:
    """The plan's `EXECUTE`, prepared once per database session (PostgreSQL then skips parsing and,
    after five runs, planning it, which for the detail query took longer than running it). It takes
    only the parameters at `plan.kept` (then `along`'s): the others (constants such as a status or a
    JSON key) are written into the prepared statement instead of being quoted and sent on every call.
    With `along` (a statement reading the query's rows as `read`), both run as one statement:
    `WITH read AS (query), along AS (…) SELECT * FROM read`."""
    done = _session_statements(connection)
    key = (plan, along)  # the plan itself, not its id(): a plan that dies could pass its id on to another
    execute = done.get(key)
    if execute is None:
        kept, positions, numbers, values = set(plan.kept), count(0), count(1), iter(plan.params)

        def placeholder(match) -> str:
            if match.group(1) == "%":
                return "%"
            i, value = next(positions), next(values)
            return f"${next(numbers)}" if i in kept else connection.ops.compose_sql("%s", [value])

        numbered = re.sub(r"%([s%])", placeholder, plan.sql)
        if along:
            rider = _numbered(along, numbers)
            numbered = f"WITH read AS ({numbered}), along AS ({rider}) SELECT * FROM read"  # noqa: S608  compiled SQL
        execute = done[key] = _execute(connection, numbered, next(numbers) - 1)
    return execute


def prepared(connection, sql: str) -> str:
    """`EXECUTE` of one statement (`%s` placeholders), prepared in SQL once per database session
    (PostgreSQL then skips parsing it and, after five runs, planning it); the `EXECUTE` takes the
    same parameters, in the same order. For a statement whose text is fixed (`carepath.db.bulk`)."""
    done = _session_statements(connection)
    execute = done.get(sql)
    if execute is None:
        numbers = count(1)
        numbered = _numbered(sql, numbers)
        execute = done[sql] = _execute(connection, numbered, next(numbers) - 1)
    return execute


def _numbered(sql: str, numbers) -> str:
    """`sql` with its `%s` placeholders as `$n`, n from `numbers`, and `%%` as `%`."""
    return re.sub(r"%([s%])", lambda m: f"${next(numbers)}" if m.group(1) == "s" else "%", sql)


def _session_statements(connection) -> dict:
    """What this database session has prepared (a new connection starts empty)."""
    session = connection.connection
    done = getattr(session, "_carepath_prepared", None)
    if done is None:
        done = session._carepath_prepared = {}
    return done


def _execute(connection, numbered: str, n: int) -> str:
    """PREPARE `numbered` (`$1`…`$n` placeholders) once per session; returns its `EXECUTE`."""
    done = _session_statements(connection)
    key = ("numbered", numbered)
    execute = done.get(key)
    if execute is None:
        name = "cp_" + hashlib.sha1(numbered.encode(), usedforsecurity=False).hexdigest()[:20]
        with connection.cursor() as cursor:
            cursor.execute(f"PREPARE {name} AS {numbered}")  # no parameters: sent as it is
        execute = done[key] = f"EXECUTE {name}({', '.join(['%s'] * n)})" if n else f"EXECUTE {name}"
    return execute


EMPTY = object()  # the shape matches nothing (e.g. a role that sees no case)


class Compiled:
    """A query compiled once per shape: `build(**args)` makes it with the ORM; `_sql(stand_ins)` turns
    it into `(…, sql, params)`. Shared by `CompiledValues` and `carepath.db.writes.CompiledUpdate`."""

    def __init__(self, build: Callable):
        self.build = build
        self._plans: dict[tuple, Plan | object] = {}

    def _plan(self, shape: Hashable, args: dict):
        key = (shape, tuple(sorted(args)))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._compile(args)
        return plan

    @staticmethod
    def _params(plan: Plan, args: dict) -> list:
        params = list(plan.params)
        for i, name in plan.slots.items():
            params[i] = args[name].pk if isinstance(args[name], Model) else args[name]
        return params

    def _twice(self, args: dict):
        """`(the first compilation, the arguments' slots in its params)`, from two compilations with
        different stand-ins; `EMPTY` if the shape matches nothing."""
        first, second = self._stand_ins(args), self._stand_ins(args)
        try:
            compiled = self._sql(first)
            *_, sql_again, params_again = self._sql(second)
        except EmptyResultSet:
            return EMPTY
        *_, sql, params = compiled
        if sql != sql_again:
            raise ValueError("the query's SQL depends on the arguments' values: name what changes it in `shape`")
        return compiled, _argument_slots(params, params_again, first, second)

    @staticmethod
    def _stand_ins(args: dict) -> dict:
        return {name: _sentinel(value) for name, value in args.items()}

    def _compile(self, args: dict):
        raise NotImplementedError

    def _sql(self, stand_ins: dict) -> tuple:
        raise NotImplementedError


class CompiledValues(Compiled):
    """`build(**args)` returns a `.values()` queryset; `rows(shape, **args)` returns its rows.

    `shape` must name everything `build` reads besides `args`: for the access rules `access.plan_key(user)`
    (the roles; the rule that they read nothing else of the user is written in carepath/pathway/access.py)."""

    def __init__(self, build: Callable[..., QuerySet], *, windowed: bool = False):
        """`windowed`: the SQL ends in `LIMIT %s OFFSET %s`, and `rows` takes `window=(offset, limit)`,
        so one statement serves every page size (a sliced queryset would put them in the SQL text)."""
        super().__init__(build)
        self.windowed = windowed

    def rows(
        self, shape: Hashable, /, window: tuple | None = None, along: tuple[str, list] | None = None, **args
    ) -> list[dict]:
        """`along`: (sql, params) of a data-modifying statement that reads this query's rows as `read`
        (e.g. `INSERT … SELECT … FROM read`, `audit.view_along`), run in the same statement and so in
        the same implicit transaction, seeing exactly the rows returned (PostgreSQL). Not for a
        windowed query: the outer `SELECT * FROM read` does not keep a page's `ORDER BY`."""
        if (window is not None) != self.windowed:
            raise TypeError("a windowed query takes window=(offset, limit); others take none")
        if along is not None and self.windowed:
            raise TypeError("a statement along a query takes no window")
        plan = self._plan(shape, args)
        if plan is EMPTY:
            return []  # and a statement along reads no row
        params = self._params(plan, args)
        if window is not None:
            offset, limit = window
            params[-2:] = [limit, offset]  # the plan's last two parameters: LIMIT %s OFFSET %s
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                if along is not None:
                    raise ValueError("a statement along a compiled query needs PostgreSQL")
                cursor.execute(plan.sql, params)
            else:
                more_sql, more = along or ("", [])
                cursor.execute(prepared_plan(connection, plan, more_sql), [*(params[i] for i in plan.kept), *more])
            fetched = cursor.fetchall()
        if plan.converters:
            fetched = plan.compiler.apply_converters(fetched, plan.converters)
        return [dict(zip(plan.names, row, strict=True)) for row in fetched]

    def _compile(self, args: dict):
        twice = self._twice(args)
        if twice is EMPTY:
            return EMPTY
        (query, compiler, sql, params), slots = twice
        if self.windowed:
            if query.is_sliced or query.select_for_update or query.combinator:
                raise ValueError("a windowed query must be a plain, unsliced SELECT")
            sql += " LIMIT %s OFFSET %s"
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        window = (len(params), len(params) + 1) if self.windowed else ()
        return Plan(
            sql=sql,
            params=tuple(params) + ((None, None) if self.windowed else ()),
            slots=slots,
            kept=(*sorted(slots), *window),
            names=[*query.extra_select, *query.values_select, *query.annotation_select],
            compiler=compiler,
            converters=compiler.get_converters(fields),
        )

    def _sql(self, stand_ins: dict):
        query = self.build(**{name: stand_in for name, (stand_in, _) in stand_ins.items()}).query
        compiler = query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        return query, compiler, sql, params


_LOCKS: dict[type, tuple[CompiledValues, list[str]]] = {}


def lock(model: type[Model], pk: int) -> Model:
    """`model.objects.select_for_update().get(pk=pk)`, compiled once per model: every transition
    starts by locking its row (docs/architecture.md), and building that query cost ~0.35 ms of CPU each time."""
    if model not in _LOCKS:
        columns = [f.attname for f in model._meta.concrete_fields]
        locked = CompiledValues(lambda pk: model.objects.select_for_update().filter(pk=pk).values(*columns))
        _LOCKS[model] = (locked, columns)
    locked, columns = _LOCKS[model]
    found = locked.rows(None, pk=pk)
    if not found:
        raise model.DoesNotExist(f"{model.__name__} {pk} does not exist.")
    return model.from_db(DEFAULT_DB_ALIAS, columns, [found[0][name] for name in columns])
