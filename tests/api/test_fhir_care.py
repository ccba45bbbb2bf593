"""The FHIR export carries issue 18's records (docs/fhir.md, "MDT decisions, treatments and follow-up"):
signed MDT decisions as Communications (a correction answers the one it corrects), treatments as
Procedures and their follow-up visits as Appointments, all valid R4 (fhir.resources R4B)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from imaging.capacity.models import Site
from referrals import fhir
from referrals.followup import services as followup
from referrals.followup.models import FollowUpVisit
from referrals.mdt import services as mdt
from referrals.models import Referral
from referrals.selectors import referral_detail

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(db):
    return Site.objects.create(name="Children's Hospital")


@pytest.fixture
def case(pathway):
    """A case whose MRI is reported, received two months ago (so a treatment may be dated in the past)."""
    reviewed = pathway.results_review()
    Referral.objects.filter(pk=reviewed.pk).update(submitted_at=timezone.now() - timedelta(days=60))
    return reviewed


@pytest.fixture
def surgical_case(pathway):
    """A case referred to neurosurgery (whom neurosurgery may see), received two months ago."""
    referred = pathway.neurosurgery()
    Referral.objects.filter(pk=referred.pk).update(submitted_at=timezone.now() - timedelta(days=60))
    return referred


@pytest.fixture
def on_list(neurologist, neurosurgeon, site, case):
    meeting = mdt.meeting_create(
        actor=neurologist,
        starts_at=timezone.now() - timedelta(minutes=30),
        site_id=site.pk,
        attendee_ids=[neurologist.pk, neurosurgeon.pk],
    )
    return mdt.meeting_add_case(
        meeting_id=meeting.pk, referral_id=case.pk, actor=neurologist, question="Compression on MRI: MVD or toxin?"
    )


def export(api, user, case) -> dict:
    response = api(user).get(f"/api/v1/referrals/{case.pk}/fhir/")
    assert response.status_code == 200
    bundle = response.json()
    fhir.validate_bundle(bundle)
    return bundle


def of_type(bundle, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def full_url(bundle, resource_id: str) -> str:
    return next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["id"] == resource_id)


def decisions(bundle) -> list[dict]:
    return [c for c in of_type(bundle, "Communication") if c["id"].startswith("mdt-decision-")]


def test_a_signed_decision_carries_question_outcome_rationale_signer_time_and_meeting(api, on_list, neurologist, case):
    signed = mdt.decision_sign(
        mdt_case_id=on_list.pk, actor=neurologist, outcome="botulinum_toxin", rationale="Mild, parents prefer"
    )

    (decision,) = decisions(export(api, neurologist, case))

    assert decision["status"] == "completed"
    assert decision["category"][0]["coding"][0]["code"] == "decision"
    assert decision["topic"]["coding"][0] == {
        "system": "https://carepath.example.org/fhir/mdt-outcome",
        "code": "botulinum_toxin",
        "display": "Botulinum toxin",
    }
    assert decision["reasonCode"] == [{"text": "Compression on MRI: MVD or toxin?"}]
    assert [p["contentString"] for p in decision["payload"]] == ["Botulinum toxin", "Rationale: Mild, parents prefer"]
    assert decision["sender"] == {"display": neurologist.get_full_name() or neurologist.get_username()}
    assert decision["sent"] == signed.signed_at.isoformat()
    assert decision["extension"] == [
        {
            "url": "https://carepath.example.org/fhir/StructureDefinition/mdt-meeting-start",
            "valueDateTime": on_list.meeting.starts_at.isoformat(),
        }
    ]
    assert "inResponseTo" not in decision


def test_a_correction_answers_the_decision_it_corrects_which_stays_as_signed(api, on_list, neurologist, case):
    first = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="watchful_waiting")
    before = export(api, neurologist, case)
    mdt.decision_sign(
        mdt_case_id=on_list.pk,
        actor=neurologist,
        outcome="other",
        other_text="Review with ophthalmology",
        rationale="Eyelid only",
        corrects_id=first.pk,
    )

    after = export(api, neurologist, case)

    original, correction = decisions(after)
    assert original == decisions(before)[0]  # never changed
    assert correction["category"][0]["coding"][0]["code"] == "correction"
    assert correction["inResponseTo"] == [{"reference": full_url(after, original["id"]), "type": "Communication"}]
    assert correction["topic"]["coding"][0]["code"] == "other"
    assert correction["topic"]["text"] == "Review with ophthalmology"


def test_a_treatment_is_a_completed_procedure_on_its_actual_date(api, surgical_case, neurosurgeon, site):
    day = timezone.localdate() - timedelta(days=10)
    followup.treatment_record(
        referral_id=surgical_case.pk, actor=neurosurgeon, kind="mvd", treated_on=day, site_id=site.pk, note="Uneventful"
    )

    bundle = export(api, neurosurgeon, surgical_case)

    (procedure,) = of_type(bundle, "Procedure")
    assert procedure["status"] == "completed"
    assert procedure["code"]["coding"][0]["code"] == "mvd"
    assert procedure["code"]["text"] == "Microvascular decompression"
    assert procedure["category"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "387713003",
        "display": "Surgical procedure",
    }
    assert procedure["performedDateTime"] == day.isoformat()
    assert procedure["subject"]["reference"] == full_url(bundle, f"patient-{surgical_case.patient_id}")
    assert procedure["recorder"] == {"display": neurosurgeon.get_full_name() or neurosurgeon.get_username()}
    assert procedure["location"] == {"display": "Children's Hospital"}
    assert procedure["note"] == [{"text": "Uneventful"}]


def test_a_toxin_injection_is_coded_without_the_surgical_category(api, case, neurologist):
    followup.treatment_record(
        referral_id=case.pk, actor=neurologist, kind="botulinum_toxin", treated_on=timezone.localdate()
    )

    (procedure,) = of_type(export(api, neurologist, case), "Procedure")

    assert procedure["code"]["coding"][0]["code"] == "botulinum_toxin"
    assert "category" not in procedure


def test_each_follow_up_visit_is_an_appointment_for_its_procedure_with_its_status(api, surgical_case, neurosurgeon):
    day = timezone.localdate() - timedelta(days=10)
    treatment = followup.treatment_record(referral_id=surgical_case.pk, actor=neurosurgeon, kind="mvd", treated_on=day)
    week, three, six, twelve = treatment.visits.all()
    followup.visit_record(visit_id=week.pk, actor=neurosurgeon, attended=True, note="Wound healed")
    followup.visit_record(visit_id=three.pk, actor=neurosurgeon, attended=False)
    FollowUpVisit.objects.filter(pk=six.pk).update(state="replanned")

    bundle = export(api, neurosurgeon, surgical_case)

    visits = {a["id"]: a for a in of_type(bundle, "Appointment") if a["id"].startswith("follow-up-visit-")}
    assert {k: a["status"] for k, a in visits.items()} == {
        f"follow-up-visit-{week.pk}": "fulfilled",
        f"follow-up-visit-{three.pk}": "noshow",
        f"follow-up-visit-{six.pk}": "cancelled",
        f"follow-up-visit-{twelve.pk}": "proposed",
    }
    procedure = full_url(bundle, f"treatment-{treatment.pk}")
    for visit, appointment in zip((week, three, six, twelve), visits.values(), strict=True):
        assert appointment["reasonReference"] == [{"reference": procedure, "type": "Procedure"}]
        assert appointment["requestedPeriod"] == [{"start": str(visit.planned_on), "end": str(visit.planned_on)}]
    attended = visits[f"follow-up-visit-{week.pk}"]
    assert attended["start"].startswith(f"{week.planned_on}T00:00:00")  # R4 wants start and end once fulfilled
    assert attended["comment"] == "Wound healed"
    assert attended["appointmentType"]["coding"][0]["code"] == "FOLLOWUP"
    planned = visits[f"follow-up-visit-{twelve.pk}"]
    assert "start" not in planned and planned["participant"][0]["status"] == "needs-action"
    assert visits[f"follow-up-visit-{six.pk}"]["cancelationReason"]["text"] == "Replaced by a re-planned visit"


def test_every_new_reference_resolves_inside_the_bundle(api, on_list, neurologist, case):
    mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="botulinum_toxin")
    followup.treatment_record(
        referral_id=case.pk, actor=neurologist, kind="botulinum_toxin", treated_on=timezone.localdate()
    )

    bundle = export(api, neurologist, case)

    urls = {e["fullUrl"] for e in bundle["entry"]}
    new = [*decisions(bundle), *of_type(bundle, "Procedure"), *of_type(bundle, "Appointment")]
    refs = [r["reference"] for resource in new for r in _references(resource)]
    assert refs and set(refs) <= urls


def _references(node):
    if isinstance(node, dict):
        if "reference" in node:
            yield node
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def test_a_case_without_decisions_or_treatments_exports_as_before(case, neurologist, monkeypatch):
    exported = fhir.referral_bundle(referral_detail(neurologist, case.pk))
    monkeypatch.setattr(fhir, "care_resources", lambda referral: [])

    assert fhir.referral_bundle(referral_detail(neurologist, case.pk)) == exported


def test_a_role_without_family_contacts_sees_the_treatment_but_not_the_guardians_phone(
    api, surgical_case, neurosurgeon
):
    followup.treatment_record(
        referral_id=surgical_case.pk, actor=neurosurgeon, kind="mvd", treated_on=timezone.localdate()
    )

    bundle = export(api, neurosurgeon, surgical_case)

    assert of_type(bundle, "Procedure")
    assert all("telecom" not in guardian for guardian in of_type(bundle, "RelatedPerson"))


def test_the_referring_pediatrician_sees_the_decision_and_the_guardians_phone(
    api, on_list, neurologist, pediatrician, case
):
    mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="botulinum_toxin")

    bundle = export(api, pediatrician, case)

    assert decisions(bundle)
    assert all("telecom" in guardian for guardian in of_type(bundle, "RelatedPerson"))


def _export_queries(user, case) -> int:
    with CaptureQueriesContext(connection) as captured:
        fhir.referral_bundle(referral_detail(user, case.pk))
    return len(captured)


def test_the_export_costs_the_same_queries_for_one_or_many_treatments_and_decisions(
    on_list, neurologist, neurosurgeon, case
):
    first = mdt.decision_sign(mdt_case_id=on_list.pk, actor=neurologist, outcome="botulinum_toxin")
    followup.treatment_record(
        referral_id=case.pk, actor=neurologist, kind="botulinum_toxin", treated_on=timezone.localdate()
    )
    one = _export_queries(neurologist, case)

    mdt.decision_sign(
        mdt_case_id=on_list.pk, actor=neurologist, outcome="repeat_mri", rationale="Artefact", corrects_id=first.pk
    )
    for days in (20, 10):
        day = timezone.localdate() - timedelta(days=days)
        followup.treatment_record(referral_id=case.pk, actor=neurosurgeon, kind="mvd", treated_on=day)

    assert _export_queries(neurologist, case) == one
