"""A faster reader for PostgreSQL `timestamptz` values, with Django's own semantics.

With `USE_TZ`, Django registers its own `timestamptz` loader on every psycopg connection (to attach
the connection's time zone), and psycopg's C loader is then never used: each value is parsed by a
regular expression in Python, ~4 µs. A worklist page of 50 items reads ~150 timestamps, ~0.3 ms of
its ~4 ms (docs/benchmarks.md, run 4). This loader parses PostgreSQL's ISO output with
`datetime.fromisoformat` (C) and then does exactly what Django's does, `replace(tzinfo=…)`; anything
`fromisoformat` refuses (`infinity`, BC dates, another DateStyle) goes to Django's loader unchanged,
so the values and the errors are the ones Django gives (tests/db/test_pg_loaders.py).
"""

from datetime import datetime

_parse = datetime.fromisoformat


def install(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: replace Django's timestamptz loader on a new psycopg connection."""
    if connection.vendor != "postgresql":
        return
    adapters = connection.connection.adapters
    django_loader = adapters.get_loader(_timestamptz_oid(), _text_format())
    if django_loader is None or django_loader in _FAST.values():
        return
    if getattr(django_loader, "timezone", None) != connection.timezone:
        return  # not the loader this replaces: leave whatever is there alone
    adapters.register_loader("timestamptz", _fast_loader(django_loader))


_FAST: dict[type, type] = {}


def _fast_loader(django_loader: type) -> type:
    """A subclass of the Django loader in place (so its `timezone` attribute, which Django's cursors
    compare with the connection's, stays the same)."""
    if django_loader not in _FAST:

        class FastTimestamptzLoader(django_loader):
            def load(self, data):
                try:
                    parsed = _parse(str(data, "ascii"))
                except ValueError:
                    return super().load(data)
                return parsed.replace(tzinfo=self.timezone)

        _FAST[django_loader] = FastTimestamptzLoader
    return _FAST[django_loader]


def _timestamptz_oid() -> int:
    from psycopg.postgres import types

    return types["timestamptz"].oid


def _text_format():
    from psycopg.pq import Format

    return Format.TEXT
