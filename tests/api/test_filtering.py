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
