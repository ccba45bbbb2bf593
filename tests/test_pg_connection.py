"""The PostgreSQL connection's own settings (carepath/settings.py, docs/decisions.md "No JIT")."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.usefixtures("require_postgres")]


def test_queries_are_not_compiled_by_the_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
