"""A list's filter form is built with only the filters a request sends: same rows, same errors."""

import pytest
from django.http import QueryDict

from carepath.api.filtering import only
from carepath.api.views import WorkItemFilter
from carepath.models import WorkItem
from imaging.api import MRIRequestFilter
from imaging.models import MRIRequest
from referrals.api import ReferralFilter
from referrals.models import Referral

pytestmark = pytest.mark.django_db

QUERIES = [
    (ReferralFilter, Referral, "state=submitted"),
    (ReferralFilter, Referral, "state=triaged&state=submitted&priority=routine"),
    (ReferralFilter, Referral, "submitted_after=2020-01-01T00:00:00Z&overdue=false"),
    (ReferralFilter, Referral, "state=nonsense&patient=-4"),
    (ReferralFilter, Referral, "submitted_before=yesterday&assigned_to_me=maybe"),
    (ReferralFilter, Referral, "unknown=1&page_size=5"),
    (WorkItemFilter, WorkItem, "kind=triage&overdue=true"),
    (WorkItemFilter, WorkItem, "due_before=2999-01-01T00:00:00Z&assigned_to_me=true"),
    (MRIRequestFilter, MRIRequest, "state=nonsense"),
]


@pytest.mark.parametrize(("filterset", "model", "query"), QUERIES)
def test_only_the_filters_sent_give_the_same_rows_and_errors(pathway, rf, filterset, model, query):
    for make in (pathway.submitted, pathway.triaged, pathway.imaging, pathway.concluded):
        make()
    request = rf.get("/")
    request.user = pathway.neuro
    data = QueryDict(query)
    given = frozenset(name for name in filterset.base_filters if name in data)
    full = filterset(data=data, queryset=model.objects.order_by("pk"), request=request)
    restricted = only(filterset, given)(data=data, queryset=model.objects.order_by("pk"), request=request)

    assert set(restricted.filters) == given
    assert restricted.is_valid() == full.is_valid()
    assert restricted.errors == full.errors
    if full.is_valid():
        assert list(restricted.qs.values_list("pk", flat=True)) == list(full.qs.values_list("pk", flat=True))


def test_a_filtered_list_answers_400_for_a_bad_value_and_filters_by_a_good_one(api, pathway):
    submitted, triaged = pathway.submitted(), pathway.triaged()
    client = api(pathway.neuro)

    bad = client.get("/api/v1/referrals/?state=nonsense")
    good = client.get("/api/v1/referrals/?state=triaged")

    assert bad.status_code == 400 and "state" in bad.json()["errors"]
    assert [row["id"] for row in good.json()["results"]] == [triaged.pk]
    assert submitted.pk not in [row["id"] for row in good.json()["results"]]


LIST_QUERIES = [
    ("/api/v1/referrals/", ""),
    ("/api/v1/referrals/", "state=submitted"),
    ("/api/v1/referrals/", "state=triaged&state=submitted&state=triaged&priority=routine"),
    ("/api/v1/referrals/", "submitted_after=2000-01-01T00:00:00Z&submitted_before=2999-01-01T00:00:00Z"),
    ("/api/v1/referrals/", "state=imaging&overdue=false"),  # a method filter: the ORM builds this one
    ("/api/v1/referrals/", "patient=1"),
    ("/api/v1/worklist/", "kind=triage&kind=first_assessment"),
    ("/api/v1/worklist/", "due_before=2999-01-01T00:00:00Z&kind=triage"),
    ("/api/v1/worklist/", "assigned_to_me=false"),
]


def _expected(url, query, user):
    """What django-filter itself answers, over the view's own queryset and order."""
    from carepath.models import due_or_never
    from carepath.pathway import selectors
    from referrals import selectors as referral_selectors

    data = QueryDict(query)
    if "referrals" in url:
        base, filterset = referral_selectors.referrals_visible_to(user), ReferralFilter
        order = ("-submitted_at",)
    else:
        base, filterset = selectors.worklist_for(user).annotate(sort_due=due_or_never()), WorkItemFilter
        order = ("sort_due", "id")
    request = type("Request", (), {"user": user, "query_params": data})()
    found = filterset(data=data, queryset=base, request=request)
    assert found.is_valid(), found.errors
    return list(found.qs.order_by(*order).values_list("id", flat=True))


@pytest.mark.parametrize(("url", "query"), LIST_QUERIES)
def test_compiled_list_filters_answer_what_django_filter_answers(api, pathway, pediatrician, url, query):
    for make in (pathway.submitted, pathway.submitted, pathway.triaged, pathway.imaging, pathway.concluded):
        make()
    for user in (pathway.neuro, pediatrician):
        page = api(user).get(f"{url}?page_size=100&{query}")
        assert page.status_code == 200, page.content
        assert [row["id"] for row in page.json()["results"]] == _expected(url, query, user)


def test_two_users_of_the_same_roles_each_get_their_own_filtered_page(api, pathway, pediatrician, other_pediatrician):
    """The compiled plan is shared by everyone with the same roles: the user is a parameter in it."""
    from tests.factories import make_referral

    mine, theirs = make_referral(pediatrician), make_referral(other_pediatrician)

    for user, case in ((pediatrician, mine), (other_pediatrician, theirs), (pediatrician, mine)):
        page = api(user).get("/api/v1/referrals/?state=submitted")
        assert [row["id"] for row in page.json()["results"]] == [case.pk]


def test_plain_filters_are_compiled_and_method_filters_built_by_the_orm(require_postgres, api, pathway, monkeypatch):
    from carepath.api.pagination import PageQuery
    from carepath.db.compiled import CompiledValues

    case = pathway.submitted()
    client = api(pathway.neuro)
    client.get("/api/v1/pathway/")
    calls = []
    monkeypatch.setattr(PageQuery, "orm", lambda self, _real=PageQuery.orm: calls.append("orm") or _real(self))
    real_rows = CompiledValues.rows

    def rows(self, *args, **kwargs):
        calls.append(kwargs.get("window"))
        return real_rows(self, *args, **kwargs)

    monkeypatch.setattr(CompiledValues, "rows", rows)

    shapes = {}
    for query in ("state=submitted", "overdue=false"):
        calls.clear()
        assert [row["id"] for row in client.get(f"/api/v1/referrals/?{query}").json()["results"]] == [case.pk]
        shapes[query] = calls[-2:]

    # the page's ids: a compiled, windowed query or the ORM's; then the page's rows (compiled)
    assert shapes["state=submitted"] == [(0, 26), None]
    assert shapes["overdue=false"] == ["orm", None]
