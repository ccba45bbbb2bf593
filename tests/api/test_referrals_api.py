"""Patients and referrals over the API: create, read with the three personas, transitions, timeline."""

import pytest
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent
from referrals.models import Patient, Referral
from tests.factories import ASSESSMENT

from .conftest import PATIENT, REFERRAL, transition


def test_a_pediatrician_registers_a_patient_with_guardians(api, pediatrician):
    response = api(pediatrician).post("/api/v1/patients/", PATIENT, format="json")

    assert response.status_code == 201, response.json()
    patient = Patient.objects.get(mrn="API-0001")
    assert [g.name for g in patient.guardians.all()] == ["Jo Hale"]
    assert response["Location"] == f"/api/v1/patients/{patient.pk}/"


def test_a_duplicate_mrn_for_another_child_is_a_field_error(api, pediatrician):
    api(pediatrician).post("/api/v1/patients/", PATIENT, format="json")

    response = api(pediatrician).post("/api/v1/patients/", {**PATIENT, "family_name": "Someone-Else"}, format="json")

    assert response.status_code == 400
    assert "mrn" in response.json()["errors"]


def test_registering_the_same_child_again_answers_the_record_without_a_copy(api, pediatrician):
    first = api(pediatrician).post("/api/v1/patients/", PATIENT, format="json")

    again = api(pediatrician).post("/api/v1/patients/", PATIENT, format="json")

    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Patient.objects.count() == 1


def test_a_role_without_registration_rights_gets_403(api, coordinator):
    assert api(coordinator).post("/api/v1/patients/", PATIENT, format="json").status_code == 403


def test_a_pediatrician_sends_a_referral_that_starts_submitted(api, pediatrician):
    client = api(pediatrician)
    patient = client.post("/api/v1/patients/", PATIENT, format="json").json()

    response = client.post("/api/v1/referrals/", {**REFERRAL, "patient": patient["id"]}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "submitted" and body["version"] == 1
    assert response["ETag"] == '"1"'
    assert body["allowed_transitions"] == ["cancel"]
    assert body["deadlines"][0]["kind"] == "triage"


def test_a_referral_for_someone_elses_patient_is_refused(api, pediatrician, other_pediatrician):
    patient = api(pediatrician).post("/api/v1/patients/", PATIENT, format="json").json()

    response = api(other_pediatrician).post("/api/v1/referrals/", {**REFERRAL, "patient": patient["id"]}, format="json")

    assert response.status_code == 400
    assert "patient" in response.json()["errors"]


@pytest.mark.parametrize(
    "persona, status", [("pediatrician", 200), ("neurologist", 200), ("other_pediatrician", 404), ("outsider", 404)]
)
def test_referral_detail_for_owner_teammate_and_outsiders(api, referral, request, persona, status):
    response = api(request.getfixturevalue(persona)).get(f"/api/v1/referrals/{referral.pk}/")

    assert response.status_code == status
    if status == 404:
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "persona, count",
    [("pediatrician", 1), ("neurologist", 1), ("other_pediatrician", 0), ("outsider", 0), ("coordinator", 0)],
)
def test_referral_list_shows_only_visible_cases(api, referral, request, persona, count):
    response = api(request.getfixturevalue(persona)).get("/api/v1/referrals/")

    assert len(response.json()["results"]) == count


def test_allowed_transitions_are_the_callers(api, referral, pediatrician, neurologist):
    assert api(neurologist).get(f"/api/v1/referrals/{referral.pk}/").json()["allowed_transitions"] == [
        "triage",
        "return_to_referrer",
        "decline",
        "cancel",
    ]
    assert api(pediatrician).get(f"/api/v1/referrals/{referral.pk}/").json()["allowed_transitions"] == ["cancel"]


def test_viewing_a_referral_is_audited(api, referral, neurologist):
    api(neurologist).get(f"/api/v1/referrals/{referral.pk}/")

    row = AuditLog.objects.filter(action="view", object_type="referrals.referral").get()
    assert (row.actor, row.object_id, row.channel) == (neurologist, str(referral.pk), "api")


def test_a_list_page_is_audited_once_with_the_ids_shown(api, pathway, neurologist):
    cases = [pathway.submitted() for _ in range(3)]

    api(neurologist).get("/api/v1/referrals/")

    row = AuditLog.objects.get(action="list")
    assert sorted(row.changes["ids"]) == sorted(str(c.pk) for c in cases)


def test_triage_through_the_api_moves_the_case_and_bumps_the_version(api, referral, neurologist):
    response = transition(api(neurologist), "referrals", referral.pk, "triage", {"priority": "urgent"}, version=1)

    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["version"], response["ETag"]) == ("triaged", 2, '"2"')


def test_a_transition_by_a_role_that_may_not_is_403(api, referral, pediatrician):
    response = transition(api(pediatrician), "referrals", referral.pk, "triage", {"priority": "urgent"})

    assert response.status_code == 403


def test_invalid_transition_data_names_the_field(api, referral, neurologist):
    response = transition(api(neurologist), "referrals", referral.pk, "triage", {"priority": "someday"})

    assert response.status_code == 400
    assert "priority" in response.json()["errors"]


def test_nested_invalid_data_names_the_nested_field(api, pathway, neurologist):
    case = pathway.triaged()
    data = {**ASSESSMENT, "severity": {"scale": "smc", "score": 7}}

    response = transition(api(neurologist), "referrals", case.pk, "record_assessment", data)

    assert response.status_code == 400
    assert "severity.score" in response.json()["errors"]


def test_a_transition_from_the_wrong_state_is_409(api, pathway, neurologist):
    case = pathway.triaged()

    assert transition(api(neurologist), "referrals", case.pk, "triage", {"priority": "urgent"}).status_code == 409


def test_a_stale_version_in_the_body_is_409(api, referral, neurologist):
    response = transition(api(neurologist), "referrals", referral.pk, "triage", {"priority": "urgent"}, version=7)

    assert response.status_code == 409
    assert response.json()["type"].endswith("staleversion")


def test_a_stale_if_match_is_409(api, referral, neurologist):
    response = transition(
        api(neurologist), "referrals", referral.pk, "triage", {"priority": "urgent"}, HTTP_IF_MATCH='"5"'
    )

    assert response.status_code == 409


def test_a_current_if_match_is_accepted(api, referral, neurologist):
    response = transition(
        api(neurologist), "referrals", referral.pk, "triage", {"priority": "urgent"}, HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 200


def test_an_unknown_transition_is_a_400_naming_transition(api, referral, neurologist):
    response = transition(api(neurologist), "referrals", referral.pk, "teleport")

    assert response.status_code == 400
    assert "transition" in response.json()["errors"]


@pytest.mark.parametrize("name", ["imaging_complete", "imaging_cancelled", "auto_close"])
@pytest.mark.parametrize("persona", ["neurologist", "admin_user"])
def test_system_transitions_are_403_to_everyone(api, pathway, request, name, persona):
    case = pathway.concluded()

    response = transition(api(request.getfixturevalue(persona)), "referrals", case.pk, name)

    assert response.status_code == 403


def test_a_transition_on_an_invisible_case_is_404(api, referral, other_pediatrician):
    response = transition(api(other_pediatrician), "referrals", referral.pk, "cancel", {"reason": "x"})

    assert response.status_code == 404


def test_a_refused_transition_leaves_the_case_unchanged(api, referral, neurologist):
    before = CaseEvent.objects.count()

    transition(api(neurologist), "referrals", referral.pk, "triage", {"priority": "urgent"}, version=9)

    referral.refresh_from_db()
    assert (referral.state, referral.version, CaseEvent.objects.count()) == ("submitted", 1, before)


def test_the_timeline_lists_every_event_in_order(api, pathway, neurologist):
    case = pathway.assessed()

    events = api(neurologist).get(f"/api/v1/referrals/{case.pk}/events/").json()

    assert [e["transition"] or e["kind"] for e in events] == ["created", "triage", "record_assessment"]


def test_the_timeline_of_an_invisible_case_is_404(api, referral, outsider):
    assert api(outsider).get(f"/api/v1/referrals/{referral.pk}/events/").status_code == 404


def test_a_referral_links_its_mri_requests_and_the_request_links_back(api, pathway, neurologist):
    case = pathway.imaging()
    client = api(neurologist)

    referral = client.get(f"/api/v1/referrals/{case.pk}/").json()
    mri = client.get(referral["links"]["mri_requests"][0]).json()

    assert mri["referral"] == case.pk and referral["mri_requests"] == [mri["id"]]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("state=submitted", 1),
        ("state=triaged", 1),
        ("state=submitted&state=triaged", 2),
        ("priority=asap", 0),
        ("priority=routine", 1),
        ("overdue=true", 0),
        ("overdue=false", 2),
    ],
)
def test_referral_filters(api, pathway, neurologist, query, expected):
    pathway.submitted()
    pathway.triaged()

    response = api(neurologist).get(f"/api/v1/referrals/?{query}")

    assert len(response.json()["results"]) == expected


def test_the_overdue_filter_finds_cases_past_a_due_time(api, pathway, neurologist):
    late = pathway.submitted()
    pathway.submitted()
    late.work_items.update(due_at=timezone.now() - timezone.timedelta(hours=1))

    results = api(neurologist).get("/api/v1/referrals/?overdue=true").json()["results"]

    assert [r["id"] for r in results] == [late.pk]


def test_the_assigned_to_me_filter(api, pathway, neurologist):
    mine = pathway.submitted()
    pathway.submitted()
    mine.work_items.update(assigned_to=neurologist)

    results = api(neurologist).get("/api/v1/referrals/?assigned_to_me=true").json()["results"]

    assert [r["id"] for r in results] == [mine.pk]


def test_cursor_pages_cover_every_case_once(api, pathway, neurologist):
    ids = {pathway.submitted().pk for _ in range(7)}
    client, seen, url = api(neurologist), [], "/api/v1/referrals/?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]

    assert sorted(seen) == sorted(ids)


def test_a_case_goes_from_referral_to_closed_loop_through_the_api(api, pathway, pediatrician, neurologist):
    case = pathway.concluded()

    response = transition(api(pediatrician), "referrals", case.pk, "acknowledge", {"note": "Thanks"})

    assert response.status_code == 200
    assert Referral.objects.get(pk=case.pk).state == "closed"
