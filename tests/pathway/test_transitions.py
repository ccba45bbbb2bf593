"""Every transition of both machines: allowed, and refused for the wrong role, the wrong state and
bad data, with the case exactly as it was after a refusal (the referral's guards:
tests/pathway/test_referral_guards.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import CaseEvent
from carepath.pathway.errors import Forbidden, InvalidData, StaleVersion, TransitionNotAllowed
from carepath.pathway.roles import Role
from imaging import reports as imaging_reports
from imaging import services as imaging
from imaging.machine import MRI_MACHINE
from imaging.models import Appointment, MRIRequest
from referrals.machine import REFERRAL_MACHINE
from referrals.models import Referral
from tests import factories as f


def _future(days=5):
    return (timezone.now() + timedelta(days=days)).isoformat()


REPORT = {"findings": f.FINDINGS_NVC, "impression": "AICA loop at the REZ.", "category": "routine"}

# transition → (how to build a case in a source state, who acts, valid data)
REFERRAL_CASES = {
    "triage": ("submitted", "neurologist", {"priority": "routine"}),
    "return_to_referrer": ("submitted", "neurologist", {"reason": "Does it continue in sleep?"}),
    "resubmit": ("returned", "pediatrician", {"response": "Yes, in sleep too.", "side": "right"}),
    "decline": ("submitted", "neurologist", {"reason": "Myokymia.", "advice": "Reassure."}),
    "record_assessment": ("triaged", "neurologist", f.ASSESSMENT),
    "record_was_not_brought": ("triaged", "neurologist", {"note": "Did not attend."}),
    "request_mri": ("assessed", "neurologist", {"clinical_question": "NVC?", "suspected_lesion": False}),
    "refer_neurosurgery": ("results_review", "neurologist", {"question": "MVD?"}),
    "record_consult": ("neurosurgery", "neurosurgeon", {"recommendation": "mvd_candidate", "note": "Good candidate."}),
    "conclude": ("results_review", "neurologist", f.CONCLUSION),
    "acknowledge": ("concluded", "pediatrician", {}),
    "cancel": ("submitted", "pediatrician", {"reason": "Family declined."}),
}
MRI_CASES = {
    "protocol": ("imaging", "neuroradiologist", {"protocol": "cpa_t2_tof", "contrast": False, "duration_minutes": 40}),
    "schedule": (
        "protocoled",
        "coordinator",
        {
            "scheduled_start": _future(),
            "location": "MRI 2",
            "sedation": "general_anaesthesia",
            "sedation_override_reason": "Very anxious child.",
        },
    ),
    "reschedule": ("scheduled", "coordinator", {"scheduled_start": _future(20), "reason": "Anaesthetist away."}),
    "record_was_not_brought": ("scheduled_due", "coordinator", {}),
    "record_scan_failed": ("scheduled", "coordinator", {"outcome": "motion_limited"}),
    "mark_performed": (
        "scheduled",
        "coordinator",
        # booked days ahead by the Pathway, scanned now: an early scan needs its reason (imaging/rules.py)
        {"accession_number": "ACC-123", "performed_at": timezone.now().isoformat(), "early_scan_reason": f.EARLY_SCAN},
    ),
    "sign_report": ("performed", "neuroradiologist", REPORT),
    "amend_report": ("results_review", "neuroradiologist", {"addendum": "Also a small venous contact."}),
    "cancel": ("imaging", "neurologist", {"reason": "Symptoms resolved."}),
}
ALL_ROLES = ["pediatrician", "neurologist", "coordinator", "neuroradiologist", "neurosurgeon", "outsider"]
ROLE_OF = {
    "pediatrician": Role.PEDIATRICIAN,
    "neurologist": Role.NEUROLOGIST,
    "coordinator": Role.IMAGING_COORDINATOR,
    "neuroradiologist": Role.NEURORADIOLOGIST,
    "neurosurgeon": Role.NEUROSURGEON,
    "outsider": None,
}


def build(pathway, state: str) -> Referral:
    if state == "returned":
        r = pathway.submitted()
        from referrals import services

        return services.referral_return_to_referrer(referral_id=r.pk, actor=pathway.neuro, reason="Video?")
    if state == "scheduled_due":  # booked, and the appointment's time has come (not brought is recorded after it)
        r = pathway.scheduled()
        now = timezone.now()
        Appointment.objects.filter(mri_request__referral=r).update(start=now - timedelta(hours=2), end=now)
        return r
    return getattr(pathway, state)()


MACHINES = {"referral": REFERRAL_MACHINE, "mri": MRI_MACHINE}
CASES = {"referral": REFERRAL_CASES, "mri": MRI_CASES}
ALL = [(machine, name) for machine in CASES for name in sorted(CASES[machine])]


def scanned_now(data: dict) -> dict:
    """The data with a scan's time taken now, after the case was built (a scan dated before its
    request is refused: imaging/rules.py)."""
    return {**data, "performed_at": timezone.now().isoformat()} if "performed_at" in data else data


def required_fields(machine: str, name: str) -> set[str]:
    serializer = MACHINES[machine].get(name).input_serializer
    return {k for k, v in serializer().fields.items() if v.required} if serializer else set()


def case_in(pathway, machine: str, state: str) -> tuple[int, int]:
    """(id of the object to act on, its referral's id) for a case built in `state`."""
    referral = build(pathway, state)
    return (referral.pk, referral.pk) if machine == "referral" else (pathway.mri(referral).pk, referral.pk)


def another_state(machine: str, name: str) -> str:
    sources = MACHINES[machine].get(name).sources
    if machine == "mri":
        return "imaging" if "requested" not in sources else "performed"
    return next(s for s in ("submitted", "triaged", "results_review", "closed") if s not in sources)


def current_state(machine: str, pk: int) -> str:
    return (Referral if machine == "referral" else MRIRequest).objects.get(pk=pk).state


@pytest.mark.parametrize(("machine", "name"), ALL)
def test_transition_moves_the_case_and_writes_one_event(machine, name, pathway, request):
    state, actor, data = CASES[machine][name]
    pk, referral_id = case_in(pathway, machine, state)
    data = scanned_now(data)
    source = current_state(machine, pk)
    before = CaseEvent.objects.filter(referral_id=referral_id, kind="transition").count()

    MACHINES[machine].run(name, pk=pk, actor=request.getfixturevalue(actor), data=data)

    assert current_state(machine, pk) == MACHINES[machine].get(name).target_for(source)
    events = CaseEvent.objects.filter(referral_id=referral_id, kind="transition")
    assert events.count() == before + 1 + (name == "cancel" and machine == "mri")  # + imaging_cancelled
    assert events.filter(transition=name).exists()


@pytest.mark.parametrize(("machine", "name"), ALL)
def test_transition_is_refused_to_other_roles_and_changes_nothing(machine, name, pathway, request):
    state, allowed_actor, data = CASES[machine][name]
    roles = MACHINES[machine].get(name).roles
    pk, referral_id = case_in(pathway, machine, state)
    data = scanned_now(data)
    for actor_name in ALL_ROLES:
        if ROLE_OF[actor_name] in roles or actor_name == allowed_actor:
            continue
        before = f.snapshot(referral_id)
        with pytest.raises(Forbidden):
            MACHINES[machine].run(name, pk=pk, actor=request.getfixturevalue(actor_name), data=data)
        assert f.snapshot(referral_id) == before, actor_name


@pytest.mark.parametrize(("machine", "name"), ALL)
def test_transition_is_refused_from_another_state_and_changes_nothing(machine, name, pathway, request):
    _, actor, data = CASES[machine][name]
    pk, referral_id = case_in(pathway, machine, another_state(machine, name))
    data = scanned_now(data)
    before = f.snapshot(referral_id)

    with pytest.raises(TransitionNotAllowed):
        MACHINES[machine].run(name, pk=pk, actor=request.getfixturevalue(actor), data=data)

    assert f.snapshot(referral_id) == before


@pytest.mark.parametrize("variant", ["missing", "wrong type"])
@pytest.mark.parametrize(("machine", "name"), [(m, n) for m, n in ALL if required_fields(m, n)])
def test_transition_with_bad_data_names_each_field_and_changes_nothing(machine, name, variant, pathway, request):
    state, actor, data = CASES[machine][name]
    required = required_fields(machine, name)
    bad = {} if variant == "missing" else {**data, **{k: {"nested": ["nonsense"]} for k in required}}
    pk, referral_id = case_in(pathway, machine, state)
    data = scanned_now(data)
    before = f.snapshot(referral_id)

    with pytest.raises(InvalidData) as refused:
        MACHINES[machine].run(name, pk=pk, actor=request.getfixturevalue(actor), data=bad)

    named = set(refused.value.errors)
    assert all(any(k == r or k.startswith(r + ".") for k in named) for r in required), named
    assert f.snapshot(referral_id) == before


def test_stale_version_is_refused_and_changes_nothing(referral, neurologist):
    before = f.snapshot(referral.pk)

    with pytest.raises(StaleVersion):
        REFERRAL_MACHINE.run(
            "triage", pk=referral.pk, actor=neurologist, data={"priority": "routine"}, version=referral.version - 1
        )

    assert f.snapshot(referral.pk) == before


def test_unknown_transition_is_refused_with_the_known_names(referral, neurologist):
    with pytest.raises(TransitionNotAllowed, match="triage"):
        REFERRAL_MACHINE.run("fast_track", pk=referral.pk, actor=neurologist, data={})


@pytest.mark.parametrize("name", ["imaging_complete", "imaging_cancelled", "auto_close"])
def test_system_transitions_are_refused_to_people(name, pathway, admin_user, neurologist):
    referral = pathway.imaging()
    for person in (admin_user, neurologist):
        with pytest.raises(Forbidden):
            REFERRAL_MACHINE.run(name, pk=referral.pk, actor=person, data={})


def test_a_pediatrician_who_did_not_refer_may_not_resubmit(pathway, other_pediatrician):
    referral = build(pathway, "returned")
    with pytest.raises(Forbidden):
        REFERRAL_MACHINE.run("resubmit", pk=referral.pk, actor=other_pediatrician, data={"response": "x"})


def test_resubmit_updates_the_details_and_reopens_triage(pathway):
    referral = build(pathway, "returned")

    REFERRAL_MACHINE.run(
        "resubmit",
        pk=referral.pk,
        actor=pathway.ped,
        data={"response": "Continues in sleep.", "red_flags": ["bilateral"], "requested_priority": "asap"},
    )

    referral.refresh_from_db()
    assert referral.state == "submitted"
    assert referral.red_flags == ["bilateral"]
    assert referral.work_items.get(status="open", is_primary=True).kind == "triage"


# --- MRI machine -----------------------------------------------------------------------------------
def mri_of(pathway, state) -> MRIRequest:
    return pathway.mri(build(pathway, state))


def test_flag_missed_waits_for_the_appointment_and_grace_then_opens_a_review(pathway, system_user):
    mri = mri_of(pathway, "scheduled")
    with pytest.raises(InvalidData):
        imaging.mri_flag_missed(mri_request_id=mri.pk, actor=system_user)

    imaging.mri_flag_missed(mri_request_id=mri.pk, actor=system_user, now=timezone.now() + timedelta(days=11))

    mri.refresh_from_db()
    assert mri.state == "needs_rebooking"
    assert mri.referral.state == "imaging"
    assert mri.work_items.filter(status="open", kind="was_not_brought_review", queue="neurologist").exists()


def test_rebooking_after_a_failed_scan_must_change_the_sedation_plan(pathway):
    mri = mri_of(pathway, "scheduled")
    failed_with = mri.appointment.sedation
    MRI_MACHINE.run("record_scan_failed", pk=mri.pk, actor=pathway.coord, data={"outcome": "motion_limited"})
    same = {
        "scheduled_start": _future(7),
        "location": "MRI 2",
        "sedation": failed_with,
        "sedation_override_reason": "Try again.",
    }

    with pytest.raises(InvalidData) as refused:
        MRI_MACHINE.run("schedule", pk=mri.pk, actor=pathway.coord, data=same)
    assert "sedation" in refused.value.errors

    other = "general_anaesthesia" if failed_with != "general_anaesthesia" else "nurse_sedation"
    MRI_MACHINE.run(
        "schedule",
        pk=mri.pk,
        actor=pathway.coord,
        data={**same, "sedation": other, "sedation_override_reason": "Motion on the last attempt."},
    )
    mri.refresh_from_db()
    assert mri.state == "scheduled" and mri.appointment.sedation == other


def test_choosing_a_sedation_other_than_the_default_needs_a_reason(pathway):
    mri = mri_of(pathway, "protocoled")
    with pytest.raises(InvalidData) as refused:
        MRI_MACHINE.run(
            "schedule",
            pk=mri.pk,
            actor=pathway.coord,
            data={"scheduled_start": _future(), "location": "MRI 2", "sedation": "nurse_sedation"},
        )
    assert "sedation_override_reason" in refused.value.errors


def test_cancelling_the_mri_returns_the_referral_to_assessed(pathway):
    referral = pathway.protocoled()

    MRI_MACHINE.run("cancel", pk=pathway.mri(referral).pk, actor=pathway.coord, data={"reason": "Resolved."})

    referral.refresh_from_db()
    assert referral.state == "assessed"
    assert referral.work_items.get(status="open", is_primary=True).kind == "decide_next_step"


def test_a_critical_report_opens_an_acknowledgement_for_the_requesting_neurologist(pathway):
    referral = pathway.results_review(category="critical")

    item = referral.work_items.get(kind="critical_result_ack", status="open")
    assert item.assigned_to == pathway.neuro

    imaging_reports.report_acknowledge(report_id=pathway.mri(referral).report.pk, actor=pathway.neuro)
    item.refresh_from_db()
    assert item.status == "done"


def test_an_accession_number_belongs_to_one_study(pathway):
    first = mri_of(pathway, "performed")
    second = mri_of(pathway, "scheduled")
    with pytest.raises(InvalidData) as refused:
        MRI_MACHINE.run(
            "mark_performed",
            pk=second.pk,
            actor=pathway.coord,
            data={
                "accession_number": first.accession_number,
                "performed_at": timezone.now().isoformat(),
                "early_scan_reason": f.EARLY_SCAN,
            },
        )
    assert "accession_number" in refused.value.errors


def test_lesion_suspected_protocol_needs_contrast(pathway):
    mri = pathway.mri(pathway.imaging(suspected_lesion=True))
    with pytest.raises(InvalidData) as refused:
        MRI_MACHINE.run(
            "protocol",
            pk=mri.pk,
            actor=pathway.rad,
            data={"protocol": "cpa_t2_tof", "contrast": False, "duration_minutes": 40},
        )
    assert "contrast" in refused.value.errors


def test_only_neurology_acknowledges_a_critical_result(pathway, coordinator):
    referral = pathway.results_review(category="critical")
    with pytest.raises(Forbidden):
        imaging_reports.report_acknowledge(report_id=pathway.mri(referral).report.pk, actor=coordinator)
    assert referral.work_items.filter(kind="critical_result_ack", status="open").exists()
