"""Notes over REST: GET/POST /api/v1/referrals/{id}/notes/, append-only, audited (referrals/notes.py)."""

import pytest

from carepath.models import AuditLog
from referrals import fhir, notes

pytestmark = pytest.mark.django_db


def test_the_owner_writes_and_reads_notes_under_the_referral(api, referral, neurologist):
    client = api(neurologist)

    created = client.post(f"/api/v1/referrals/{referral.pk}/notes/", {"text": "Seen in clinic."}, format="json")
    listed = client.get(f"/api/v1/referrals/{referral.pk}/notes/")

    assert created.status_code == 201
    assert created.json()["author"] == "dr_neuro" and created.json()["author_role"] == "neurologist"
    assert [n["text"] for n in listed.json()] == ["Seen in clinic."]
    assert AuditLog.objects.filter(action="view", object_id=str(referral.pk), changes__what="notes (api)").exists()


def test_the_referrer_reads_the_notes_of_their_referral(api, referral, pediatrician, neurologist):
    notes.note_add(referral_id=referral.pk, actor=neurologist, text="Triage tomorrow.")

    listed = api(pediatrician).get(f"/api/v1/referrals/{referral.pk}/notes/")

    assert listed.status_code == 200 and listed.json()[0]["author_name"]


def test_an_outsider_and_another_pediatrician_get_404(api, referral, outsider, other_pediatrician):
    for user in (outsider, other_pediatrician):
        client = api(user)
        assert client.get(f"/api/v1/referrals/{referral.pk}/notes/").status_code == 404
        assert client.post(f"/api/v1/referrals/{referral.pk}/notes/", {"text": "x"}, format="json").status_code == 404


def test_notes_cannot_be_edited_or_deleted(api, referral, neurologist):
    client = api(neurologist)
    client.post(f"/api/v1/referrals/{referral.pk}/notes/", {"text": "Seen."}, format="json")

    for method in (client.put, client.patch, client.delete):
        assert method(f"/api/v1/referrals/{referral.pk}/notes/", {"text": "changed"}, format="json").status_code == 405


def test_an_amendment_of_someone_elses_note_is_a_403_problem(api, referral, neurologist, colleague):
    note = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Left.")

    response = api(colleague).post(
        f"/api/v1/referrals/{referral.pk}/notes/", {"text": "Right.", "amends": note.pk}, format="json"
    )

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert "Only the author" in response.json()["detail"]


def test_a_second_amendment_is_a_409_and_a_foreign_note_a_422(api, pediatrician, referral, neurologist):
    from tests import factories

    first = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Left.")
    notes.note_add(referral_id=referral.pk, actor=neurologist, text="Right.", amends_id=first.pk)
    elsewhere = notes.note_add(
        referral_id=factories.make_referral(pediatrician).pk, actor=neurologist, text="Other child."
    )
    client = api(neurologist)

    again = client.post(f"/api/v1/referrals/{referral.pk}/notes/", {"text": "Both.", "amends": first.pk}, format="json")
    foreign = client.post(
        f"/api/v1/referrals/{referral.pk}/notes/", {"text": "x", "amends": elsewhere.pk}, format="json"
    )

    assert again.status_code == 409 and foreign.status_code == 422
    assert list(foreign.json()["errors"]) == ["amends"]


def test_an_ehr_client_reads_but_may_not_write_notes(api, groups, neurologist):
    from carepath.pathway.roles import Role
    from tests import factories

    ehr = factories.user_with_role(Role.EHR_CLIENT)
    sent = factories.make_referral(ehr)
    client = api(ehr)

    assert client.get(f"/api/v1/referrals/{sent.pk}/notes/").status_code == 200
    refused = client.post(f"/api/v1/referrals/{sent.pk}/notes/", {"text": "x"}, format="json")
    assert refused.status_code == 403 and "may read" in refused.json()["detail"]


def test_the_fhir_export_carries_notes_as_communications_and_validates(api, referral, neurologist):
    first = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Left.")
    fixed = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Right.", amends_id=first.pk)

    bundle = api(neurologist).get(f"/api/v1/referrals/{referral.pk}/fhir/").json()

    fhir.validate_bundle(bundle)
    sent = {e["resource"]["id"]: e for e in bundle["entry"] if e["resource"]["resourceType"] == "Communication"}
    amendment = sent[f"note-{fixed.pk}"]["resource"]
    assert amendment["payload"][0]["contentString"] == "Right."
    assert amendment["inResponseTo"][0]["reference"] == sent[f"note-{first.pk}"]["fullUrl"]
    assert amendment["category"][0]["coding"][0]["code"] == "amendment"
