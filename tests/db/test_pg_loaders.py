"""The faster timestamptz loader reads every value exactly as Django's own loader does."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.usefixtures("require_postgres")]

VALUES = [
    "2026-12-01 10:00:00.123456+00",
    "2026-12-01 10:00:00+00",
    "2026-06-30 23:59:59.5+02",
    "2026-03-29 01:30:00+05:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def _outcome(cursor, literal: str, zone: str):
    """The value read, or the error raised, for `literal` in a session in time zone `zone`."""
    cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
    try:
        cursor.execute("SELECT %s::timestamptz", [literal])
        value = cursor.fetchone()[0]
    except Exception as exc:  # noqa: BLE001 - the point is to compare the two loaders' errors
        return ("error", type(exc).__name__, str(exc))
    return ("value", value, value.tzinfo, value.isoformat())


def test_the_connection_uses_the_fast_loader():
    from psycopg.postgres import types
    from psycopg.pq import Format

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
    assert loader.__name__ == "FastTimestamptzLoader"
    assert loader.timezone == connection.timezone  # Django's cursors then keep it


@pytest.mark.parametrize("literal", [*VALUES, "infinity", "-infinity", "0044-03-15 12:00:00+00 BC"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "Asia/Kolkata"])
def test_values_and_errors_equal_djangos(literal, zone):
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    with connection.cursor() as cursor:
        ours = _outcome(cursor, literal, zone)
    django_cursor = connection.connection.cursor()
    register_tzloader(connection.timezone, django_cursor)  # what Django registers, on this cursor only
    try:
        djangos = _outcome(django_cursor, literal, zone)
    finally:
        django_cursor.close()
    assert ours == djangos
