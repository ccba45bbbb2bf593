"""A list request costs the same number of SQL queries whatever its page size (issue 3 §5)."""

import pytest

from carepath.models import Notification

MAX_QUERIES = 8  # the benchmark's target per list request (docs/benchmarks.md)


@pytest.fixture
def many_cases(pathway):
    """30 cases across states, with MRI requests, reports and open work items: more than a page of 5,
    and every one of them on a page of 50."""
    cases = [pathway.submitted() for _ in range(12)] + [pathway.triaged() for _ in range(6)]
    cases += [pathway.imaging() for _ in range(6)] + [pathway.results_review() for _ in range(6)]
    return cases


@pytest.mark.parametrize(
    "url, persona",
    [
        ("/api/v1/referrals/?page_size={n}", "neurologist"),
        (
            "/api/v1/referrals/?page_size={n}&state=submitted&state=triaged&priority=routine&overdue=false",
            "neurologist",
        ),
        ("/api/v1/referrals/?page_size={n}", "pediatrician"),
        ("/api/v1/mri-requests/?page_size={n}", "coordinator"),
        ("/api/v1/reports/?page_size={n}", "neuroradiologist"),
        ("/api/v1/patients/?page_size={n}", "pediatrician"),
        ("/api/v1/worklist/?page_size={n}", "neurologist"),
        ("/api/v1/notifications/?page_size={n}", "neurologist"),
    ],
)
def test_list_queries_are_constant_in_page_size(api, many_cases, request, django_assert_max_num_queries, url, persona):
    user = request.getfixturevalue(persona)
    Notification.objects.bulk_create(
        Notification(
            recipient=user, referral=case, kind="t", subject="s", dedupe_key=f"q{case.pk}", created_at=case.submitted_at
        )
        for case in many_cases
    )
    client = api(user)
    client.get("/api/v1/pathway/")  # the token's first use records last_used_at: not part of a list's cost
    client.get(url.format(n=1))  # nor is preparing its statements, once per database session (carepath/db/compiled.py)
    sizes = {}

    for page_size in (5, 50):
        with django_assert_max_num_queries(MAX_QUERIES) as captured:
            response = client.get(url.format(n=page_size))
        assert response.status_code == 200
        sizes[page_size] = (len(response.json()["results"]), len(captured))

    assert sizes[50][0] > sizes[5][0] and sizes[50][1] == sizes[5][1]
