"""The caller's worklist: claimed items plus role queues, overdue first; claim and release."""

from datetime import timedelta

from django.utils import timezone

from carepath.models import WorkItem


def test_the_worklist_shows_the_role_queue_overdue_first(api, pathway, neurologist):
    soon, late = pathway.submitted(), pathway.submitted()
    late.work_items.update(due_at=timezone.now() - timedelta(hours=2))

    results = api(neurologist).get("/api/v1/worklist/").json()["results"]

    assert [r["referral"]["id"] for r in results] == [late.pk, soon.pk]
    assert results[0]["overdue"] is True


def test_another_roles_queue_is_not_on_my_worklist(api, referral, coordinator):
    assert api(coordinator).get("/api/v1/worklist/").json()["results"] == []


def test_an_outsider_has_an_empty_worklist(api, referral, outsider):
    assert api(outsider).get("/api/v1/worklist/").json()["results"] == []


def test_claiming_an_item_assigns_it_and_leaves_the_case_state_alone(api, referral, neurologist):
    item = referral.work_items.get()

    response = api(neurologist).post(f"/api/v1/worklist/{item.pk}/claim/")

    assert response.status_code == 200
    assert response.json()["assigned_to"] == neurologist.pk
    referral.refresh_from_db()
    assert (referral.state, referral.version) == ("submitted", 1)


def test_a_claimed_item_leaves_colleagues_worklists(api, referral, neurologist):
    from carepath.pathway.roles import Role
    from tests.factories import user_with_role

    colleague = user_with_role(Role.NEUROLOGIST, "dr_colleague")
    item = referral.work_items.get()
    api(neurologist).post(f"/api/v1/worklist/{item.pk}/claim/")

    assert api(colleague).get("/api/v1/worklist/").json()["results"] == []


def test_releasing_puts_the_item_back_in_the_queue(api, referral, neurologist):
    item = referral.work_items.get()
    client = api(neurologist)
    client.post(f"/api/v1/worklist/{item.pk}/claim/")

    response = client.post(f"/api/v1/worklist/{item.pk}/release/")

    assert response.status_code == 200
    assert WorkItem.objects.get(pk=item.pk).assigned_to is None


def test_an_item_not_on_my_worklist_is_404(api, referral, coordinator):
    item = referral.work_items.get()

    assert api(coordinator).post(f"/api/v1/worklist/{item.pk}/claim/").status_code == 404


def test_worklist_rows_equal_the_work_item_serializer_field_for_field(api, pathway, neurologist, coordinator):
    import json
    from types import SimpleNamespace

    from rest_framework.renderers import JSONRenderer

    from carepath.api.views import WorkItemSerializer

    pathway.submitted()
    pathway.protocoled()  # the coordinator schedules it: an item with an MRI request
    claimed = pathway.submitted()
    item = claimed.work_items.get()
    api(neurologist).post(f"/api/v1/worklist/{item.pk}/claim/")
    WorkItem.objects.filter(pk=item.pk).update(due_at=None, note="Call the family first")

    for user in (neurologist, coordinator):
        listed = api(user).get("/api/v1/worklist/?page_size=50").json()["results"]
        items = WorkItem.objects.filter(pk__in=[row["id"] for row in listed]).select_related("referral__patient")
        context = {"request": SimpleNamespace(user=user), "now": timezone.now()}
        expected = json.loads(JSONRenderer().render(WorkItemSerializer(items, many=True, context=context).data))

        assert listed, user
        assert sorted(listed, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
        assert list(listed[0]) == WorkItemSerializer.Meta.fields


def _walk(client, url: str, key: str) -> list[int]:
    seen = []
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page[key]
    return seen


def test_compiled_pages_walk_the_worklist_as_the_orm_built_ones_do(api, pathway, neurologist):
    """Ties on the due time (the cursor's offset), items with no due time (last), a claimed item;
    forward, and back from the last page. A filter sent (`kind`) makes the ORM build the page."""
    from carepath.pathway import selectors

    cases = [pathway.submitted() for _ in range(9)]
    tie = timezone.now() + timedelta(days=3)
    WorkItem.objects.filter(referral__in=cases[:5]).update(due_at=tie)
    WorkItem.objects.filter(referral__in=cases[5:7]).update(due_at=None)
    WorkItem.objects.filter(referral=cases[7]).update(assigned_to=neurologist)
    expected = list(selectors.worklist_for(neurologist).values_list("id", flat=True))
    client = api(neurologist)
    walks = {}

    for extra in ("", "&kind=triage"):
        forward = _walk(client, f"/api/v1/worklist/?page_size=2{extra}", "next")
        last = client.get(f"/api/v1/worklist/?page_size=2{extra}").json()
        while last["next"]:
            last = client.get(last["next"]).json()
        walks[extra] = (forward, _walk(client, last["previous"], "previous"))

    assert len(expected) == 9 and walks[""][0] == expected
    assert walks[""] == walks["&kind=triage"]


def _last_page(client, url: str) -> dict:
    page = client.get(url).json()
    while page["next"]:
        page = client.get(page["next"]).json()
    return page


def test_walking_back_through_tied_due_times_meets_every_item_once(api, pathway, neurologist):
    """An integrator paging back (`previous`) through many items due at the same time, or with no due
    time, sees each once, in the reverse of the forward order: the cursor marks the item, not only
    its due time (DRF's own cursor kept the due time and an offset, and skipped items here)."""
    cases = [pathway.submitted() for _ in range(11)]
    tie = timezone.now() + timedelta(days=3)
    WorkItem.objects.filter(referral__in=cases[:6]).update(due_at=tie)
    WorkItem.objects.filter(referral__in=cases[6:10]).update(due_at=None)
    client = api(neurologist)

    for extra in ("", "&kind=triage"):  # a compiled page, and one the ORM builds
        for size in (2, 3, 4):
            url = f"/api/v1/worklist/?page_size={size}{extra}"
            forward = _walk(client, url, "next")
            last = _last_page(client, url)
            back, url = [], last["previous"]
            while url:  # each page in its own order, the pages from the last back to the first
                page = client.get(url).json()
                back[:0] = [row["id"] for row in page["results"]]
                url = page["previous"]

            assert len(forward) == 11 and len(set(forward)) == 11, (extra, size)
            assert back + [row["id"] for row in last["results"]] == forward, (extra, size)
