"""`$find` over the API (docs/api.md, docs/capacity.md "What a slot must satisfy"):
`GET /api/v1/mri-requests/{id}/slots/` offers the finder's earliest slots, to whoever may see the
request, audited as a read of the child's record; a bad `from`/`to` is a 400 naming it."""

from datetime import timedelta

import pytest

from carepath.models import AuditLog
from imaging.models import MRIRequest
from tests.capacity.scanners import at, department, scan_day

from .conftest import transition

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def place(db):
    return department()


def slots(client, mri, **params):
    return client.get(f"/api/v1/mri-requests/{mri.pk}/slots/", params)


def test_a_coordinator_finds_the_earliest_slots_and_books_the_first(api, pathway, place):
    _, big, _, _ = place
    mri = pathway.mri(pathway.protocoled())
    client = api(pathway.coord)
    day = scan_day()

    found = slots(client, mri, **{"from": at(day, "08:00").isoformat(), "limit": 3})

    assert found.status_code == 200, found.content
    body = found.json()
    assert body["mri_request"] == mri.pk and body["due"]
    first = body["slots"][0]
    assert (first["scanner"], first["location"], first["sedation"]) == (
        big.pk,
        "Children's Hospital — MRI 1",
        "none",
    )
    assert first["start"] == at(day, "08:00").isoformat().replace("+00:00", "Z")
    assert (first["anaesthesia_list"], first["breaches_due"]) == (None, False)
    assert len(body["slots"]) == 3
    booked = transition(
        client, "mri-requests", mri.pk, "schedule", {"scanner": first["scanner"], "scheduled_start": first["start"]}
    )
    assert booked.status_code == 200, booked.content
    assert booked.json()["appointment"]["location"] == "Children's Hospital — MRI 1"


def test_a_ga_child_is_offered_slots_inside_the_anaesthesia_list_only(api, pathway, place):
    mri = pathway.mri(pathway.protocoled(suspected_lesion=True))  # a suspected mass: general anaesthesia
    day = scan_day()

    body = slots(api(pathway.coord), mri, **{"from": at(day, "06:00").isoformat(), "limit": 10}).json()

    assert body["slots"], body
    for slot in body["slots"]:
        assert slot["sedation"] == "general_anaesthesia"
        assert slot["anaesthesia_list_name"] == "Paediatric GA list"
    assert body["slots"][0]["start"] == at(day, "09:00").isoformat().replace("+00:00", "Z")


def test_slots_after_the_due_date_are_marked_as_breaching(api, pathway, place):
    mri = pathway.mri(pathway.protocoled())
    MRIRequest.objects.filter(pk=mri.pk).update(priority="asap")  # due within 48 hours
    later = scan_day() + timedelta(days=7)

    body = slots(api(pathway.coord), mri, **{"from": at(later, "08:00").isoformat(), "limit": 1}).json()

    assert body["slots"][0]["breaches_due"] is True


def test_reading_the_slots_is_audited_as_a_read_of_the_childs_record(api, pathway, place):
    mri = pathway.mri(pathway.protocoled())

    assert slots(api(pathway.coord), mri).status_code == 200

    row = AuditLog.objects.filter(actor=pathway.coord, action=AuditLog.Action.VIEW).latest("id")
    assert (row.object_type, row.object_id, row.changes) == ("imaging.mrirequest", str(mri.pk), {"what": "slots"})
    assert row.patient_id == mri.referral.patient_id


def test_the_same_people_see_the_slots_as_see_the_request(api, pathway, place, neuroradiologist, outsider):
    mri = pathway.mri(pathway.protocoled())

    assert slots(api(neuroradiologist), mri).status_code == 200
    assert slots(api(outsider), mri).status_code == 404
    assert slots(api(), mri).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "tomorrow"}, "from"),
        ({"to": "2026-13-40T00:00:00Z"}, "to"),
        ({"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "to"),
        ({"from": "9999-12-31T23:59:00-15:00"}, "from"),  # past year 9999 in UTC
        ({"limit": "0"}, "limit"),
    ],
)
def test_a_bad_parameter_is_a_400_problem_naming_it(api, pathway, place, params, field):
    mri = pathway.mri(pathway.protocoled())

    response = slots(api(pathway.coord), mri, **params)

    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert list(response.json()["errors"]) == [field]


def test_without_scanners_there_are_no_slots(api, pathway):
    mri = pathway.mri(pathway.protocoled())

    assert slots(api(pathway.coord), mri).json()["slots"] == []


def test_the_schema_documents_the_slots_resource(api, neurologist, settings):
    settings.SECURE_SSL_REDIRECT = False
    schema = api(neurologist).get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/mri-requests/{id}/slots/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"id", "from", "to", "limit", "sedation", "scanner"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"mri_request", "due", "slots"}
