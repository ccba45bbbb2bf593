"""carepath/api/pagination.py: pages by key. A page starts after the cursor's item, whichever way
the client walks and however many items share a value of the order."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carepath.api.pagination import CompiledPages, after, order_with_id, reversed_order
from referrals.models import Referral


def _tied_cases(pathway, n=7):
    """`n` submitted cases, four of them submitted at the same instant."""
    cases = [pathway.submitted() for _ in range(n)]
    tie = cases[0].submitted_at + timedelta(minutes=5)
    Referral.objects.filter(pk__in=[c.pk for c in cases[1:5]]).update(submitted_at=tie)
    return Referral.objects.filter(state="submitted").values("id", "submitted_at")


def test_after_a_place_is_the_rest_of_the_order(pathway):
    rows = _tied_cases(pathway)

    for ordering in (("-submitted_at", "-id"), ("submitted_at", "id")):
        ordered = list(rows.order_by(*ordering))
        for i, row in enumerate(ordered):
            place = [row["submitted_at"], row["id"]]
            assert list(rows.order_by(*ordering).filter(after(ordering, place))) == ordered[i + 1 :]


def test_a_list_order_ends_with_the_id_in_its_direction():
    assert order_with_id("-submitted_at") == ("-submitted_at", "-id")
    assert order_with_id(("sort_due", "id")) == ("sort_due", "id")
    assert order_with_id("-id") == ("-id",)
    assert reversed_order(("sort_due", "id")) == ("-sort_due", "-id")


def test_a_page_query_returns_what_the_orm_returns_for_every_window_and_place(require_postgres, pathway):
    base = _tied_cases(pathway).all
    pages = CompiledPages(Referral, lambda: base())
    middle = list(base().order_by("submitted_at", "id"))[3]
    place = [middle["submitted_at"].isoformat(), middle["id"]]  # a cursor carries its place as JSON

    for ordering in (("-submitted_at", "-id"), ("submitted_at", "id")):
        for window in ((0, 2), (1, 4), (0, 50)):
            orm = base().order_by(*ordering).filter(after(ordering, place))[slice(*window)]
            page = pages.queryset(None).order_by(*ordering).after(place)[slice(*window)]
            assert list(page) == list(orm)
            assert list(pages.queryset(None).order_by(*ordering)[slice(*window)]) == list(
                base().order_by(*ordering)[slice(*window)]
            )

    # one plan per order and place or none, whatever the window: LIMIT and OFFSET are parameters
    assert len(pages._plans) == 4
    with CaptureQueriesContext(connection) as captured:
        list(pages.queryset(None).order_by("submitted_at", "id")[0:3])
        list(pages.queryset(None).order_by("submitted_at", "id").after(place)[0:30])
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["EXECUTE", "EXECUTE"]


def test_walking_back_through_cases_submitted_together_meets_every_case_once(api, pathway):
    """An EHR that sends a batch at once gives many cases the same submission time."""
    _tied_cases(pathway, n=9)
    client = api(pathway.neuro)

    for size in (2, 3):
        forward, url = [], f"/api/v1/referrals/?page_size={size}"
        while url:
            page = client.get(url).json()
            forward.append([row["id"] for row in page["results"]])
            url, last = page["next"], page
        back, url = [], last["previous"]
        while url:
            page = client.get(url).json()
            back.insert(0, [row["id"] for row in page["results"]])
            url = page["previous"]

        walked = [pk for ids in forward for pk in ids]
        assert len(walked) == 9 and len(set(walked)) == 9
        assert [pk for ids in back for pk in ids] + last_ids(last) == walked


def last_ids(page) -> list[int]:
    return [row["id"] for row in page["results"]]


@pytest.mark.parametrize(
    "path", ["referrals", "patients", "mri-requests", "reports", "notifications", "worklist", "auth/tokens"]
)
def test_every_list_walks_forward_and_back_through_the_same_items(api, pathway, neurologist, path):
    """Every list endpoint, its rows sharing their order's value in threes (a batch arriving at one
    instant): forward meets each once, and back from the last page meets the same, page by page."""
    from django.utils import timezone

    from carepath.api.models import ApiToken
    from carepath.models import Notification, WorkItem
    from imaging.models import MRIRequest, NeuroradiologyReport

    at = timezone.now()
    cases = [pathway.results_review() for _ in range(5)] + [pathway.submitted() for _ in range(2)]
    for i, case in enumerate(cases):
        Notification.objects.create(
            recipient=neurologist, referral=case, kind="reminder", subject="Due", dedupe_key=f"walk:{i}", created_at=at
        )
    client = api(neurologist)
    for _ in range(4):
        api(neurologist)  # more tokens of the neurologist's own
    for model, field in (
        (Referral, "submitted_at"),
        (MRIRequest, "requested_at"),
        (NeuroradiologyReport, "signed_at"),
        (Notification, "created_at"),
        (ApiToken, "created_at"),
    ):
        ids = list(model.objects.order_by("id").values_list("id", flat=True))
        for i in range(0, len(ids), 3):
            model.objects.filter(id__in=ids[i : i + 3]).update(**{field: at})
    WorkItem.objects.filter(referral__in=cases).update(due_at=None)

    url = f"/api/v1/{path}/?page_size=2"
    pages, page = [], client.get(url).json()
    pages.append(page)
    while page["next"]:
        page = client.get(page["next"]).json()
        pages.append(page)
    forward = [row["id"] for p in pages for row in p["results"]]
    back, link = [], pages[-1]["previous"]
    while link:
        page = client.get(link).json()
        back[:0] = [row["id"] for row in page["results"]]
        link = page["previous"]

    assert len(forward) >= 4 and len(set(forward)) == len(forward), path
    assert back + [row["id"] for row in pages[-1]["results"]] == forward, path
