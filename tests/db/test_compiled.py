"""carepath/db/compiled.py: a queryset compiled once per shape returns what the ORM returns, for every
shape and value, and refuses an argument it could not substitute."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carepath.db.compiled import CompiledValues
from carepath.pathway.roles import user_roles
from referrals import selectors
from referrals.models import Referral


def visible(user, pk):
    return selectors.referrals_visible_to(user).filter(pk=pk).values("id", "state", "submitted_at", "red_flags")


@pytest.mark.parametrize("persona", ["pediatrician", "other_pediatrician", "neurologist", "coordinator", "outsider"])
def test_rows_equal_the_orm_for_every_role_and_case(pathway, request, persona):
    user = request.getfixturevalue(persona)
    compiled = CompiledValues(visible)
    cases = [pathway.submitted(), pathway.imaging()]

    for case in cases:
        assert compiled.rows(user_roles(user), user=user, pk=case.pk) == list(visible(user, case.pk))


def test_the_second_call_of_a_shape_compiles_nothing_and_uses_the_new_values(pathway, pediatrician, monkeypatch):
    compiled = CompiledValues(visible)
    first, second = pathway.submitted(), pathway.submitted()
    compiled.rows(user_roles(pediatrician), user=pediatrician, pk=first.pk)
    monkeypatch.setattr(compiled, "build", lambda **kw: pytest.fail("compiled again"))

    rows = compiled.rows(user_roles(pediatrician), user=pediatrician, pk=second.pk)

    assert [r["id"] for r in rows] == [second.pk]


def test_a_shape_that_matches_nothing_returns_no_rows_without_a_query(pathway, outsider):
    compiled = CompiledValues(visible)
    case = pathway.submitted()
    compiled.rows(user_roles(outsider), user=outsider, pk=case.pk)

    with CaptureQueriesContext(connection) as captured:
        assert compiled.rows(user_roles(outsider), user=outsider, pk=case.pk) == []

    assert len(captured) == 0


def test_an_argument_that_reaches_the_sql_transformed_is_refused(pathway):
    compiled = CompiledValues(lambda pk: Referral.objects.filter(pk__in=[pk, pk + 1]).values("id"))

    with pytest.raises(ValueError, match="cannot substitute"):
        compiled.rows(None, pk=pathway.submitted().pk)


def test_postgresql_prepares_each_statement_once_per_session(require_postgres, pathway, neurologist):
    compiled = CompiledValues(visible)
    cases = [pathway.submitted(), pathway.submitted()]

    with CaptureQueriesContext(connection) as captured:
        for case in cases:
            assert compiled.rows(user_roles(neurologist), user=neurologist, pk=case.pk)[0]["id"] == case.pk

    sql = [q["sql"] for q in captured.captured_queries]
    assert sum(s.startswith("PREPARE") for s in sql) <= 1
    assert sum(s.startswith("EXECUTE") for s in sql) == 2


def test_a_list_of_ids_is_one_array_parameter_whatever_its_length(require_postgres, pathway, neurologist):
    from django.db.models import F

    from carepath.db.compiled import AnyOf

    compiled = CompiledValues(lambda ids: Referral.objects.filter(AnyOf(F("pk"), ids)).order_by("pk").values("id"))
    cases = [pathway.submitted().pk for _ in range(3)]

    for some in (cases[:1], cases, []):
        assert compiled.rows(None, ids=some) == [{"id": pk} for pk in sorted(some)]
    assert len(compiled._plans) == 1


def test_constants_are_prepared_with_the_statement_and_only_arguments_are_sent(require_postgres, pathway, neurologist):
    compiled = CompiledValues(
        lambda pk: Referral.objects.filter(pk=pk, state__in=["submitted", "it's %s"]).values("id", "state")
    )
    case = pathway.submitted()

    with CaptureQueriesContext(connection) as captured:
        assert compiled.rows(None, pk=case.pk) == [{"id": case.pk, "state": "submitted"}]
        assert compiled.rows(None, pk=case.pk + 10_000) == []

    prepare, *executes = [q["sql"] for q in captured.captured_queries]
    assert "'submitted'" in prepare and "'it''s %s'" in prepare and "$1" in prepare and "$2" not in prepare
    assert executes[0].endswith(f"({case.pk})") and executes[1].endswith(f"({case.pk + 10_000})")


@pytest.mark.django_db(transaction=True)
def test_a_new_database_session_prepares_again(require_postgres, pathway, neurologist):
    compiled = CompiledValues(visible)
    case = pathway.submitted()
    compiled.rows(user_roles(neurologist), user=neurologist, pk=case.pk)

    connection.close()  # the next query opens a new session, which has no prepared statements
    with CaptureQueriesContext(connection) as captured:
        rows = compiled.rows(user_roles(neurologist), user=neurologist, pk=case.pk)

    assert [r["id"] for r in rows] == [case.pk]
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["PREPARE", "EXECUTE"]


def test_lock_returns_the_row_as_the_orm_would_and_locks_it(pathway):
    from django.db import transaction

    from carepath.db.compiled import _LOCKS, lock

    case = pathway.imaging()

    with transaction.atomic():
        locked = lock(Referral, case.pk)

    fields = [f.attname for f in Referral._meta.concrete_fields]
    expected = Referral.objects.get(pk=case.pk)
    assert [getattr(locked, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert locked._state.adding is False
    plans = _LOCKS[Referral][0]._plans.values()
    assert all("FOR UPDATE" in plan.sql for plan in plans) or connection.vendor == "sqlite"  # SQLite locks the file
    with pytest.raises(Referral.DoesNotExist):
        lock(Referral, case.pk + 10_000)


def test_a_plan_that_is_gone_leaves_nothing_for_the_next_one(require_postgres, pathway):
    """A session's prepared statements are keyed by the plan itself: a new plan may take the memory
    (and the id) of one that was freed, and must not run that one's statement."""
    import gc

    case = pathway.submitted()
    shapes = [("id",), ("id", "reason"), ("state", "version", "id")]
    for i in range(30):
        columns = shapes[i % len(shapes)]
        compiled = CompiledValues(lambda pk, columns=columns: Referral.objects.filter(pk=pk).values(*columns))
        assert compiled.rows(None, pk=case.pk) == [Referral.objects.filter(pk=case.pk).values(*columns).get()]
        del compiled
        gc.collect()
