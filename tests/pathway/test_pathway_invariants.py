"""Random sequences of actions by random people, checking what must always hold (hypothesis).

Invariants: nothing leaves a terminal state; an open case has exactly one open primary work item
(the MRI's while imaging, except between a signed report and `imaging_complete`); a finished case
has none; timeline transition events equal successful transitions; one audit row per transition.
"""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from carepath.models import AuditLog, CaseEvent, WorkItem
from carepath.pathway.errors import DomainError
from carepath.pathway.roles import Role, ensure_role_groups, get_system_user
from carepath.pathway.workflow import perform
from imaging import services as imaging
from imaging.machine import MRI_MACHINE
from imaging.models import MRIRequest
from referrals import services
from referrals.machine import REFERRAL_MACHINE
from referrals.models import Referral
from tests import factories as f

from .test_transitions import MRI_CASES, REFERRAL_CASES, scanned_now

PEOPLE = ["ped", "other_ped", "neuro", "coord", "rad", "surg", "admin", "outsider"]
# the tables name fixtures; half the time the rules pick the person the table says may act
INTENDED = {
    "pediatrician": "ped",
    "neurologist": "neuro",
    "coordinator": "coord",
    "neuroradiologist": "rad",
    "neurosurgeon": "surg",
}
WHO = st.one_of(st.none(), st.sampled_from(PEOPLE))
EXTRA_DATA = {"conclude": {**f.CONCLUSION, "imaging_waived_reason": "Not needed."}}
OPEN_MRI = ("requested", "protocoled", "scheduled", "needs_rebooking", "performed")


def data_options(name, table):
    options = [table[name][2], {}]
    if name in EXTRA_DATA:
        options.append(EXTRA_DATA[name])
    return options


class CaseMachine(RuleBasedStateMachine):
    users: dict = {}
    reached: set = set()  # referral states seen across all runs, to prove the search went deep

    def __init__(self):
        super().__init__()
        self.referral = f.make_referral(self.users["ped"], red_flags=[])
        self.successes = 0
        self.terminal_seen = None

    def _attempt(self, action) -> None:
        try:
            action()
        except DomainError:
            return
        self.successes += 1

    def _open_mri(self):
        return MRIRequest.objects.filter(referral=self.referral).order_by("-pk").first()

    @rule(name=st.sampled_from(sorted(REFERRAL_CASES)), who=WHO, pick=st.integers(0, 2))
    def referral_action(self, name, who, pick):
        options = data_options(name, REFERRAL_CASES)
        data = options[pick % len(options)]
        actor = self.users[who or INTENDED[REFERRAL_CASES[name][1]]]
        self._attempt(lambda: perform(REFERRAL_MACHINE, self.referral.pk, name, actor, data=data))

    @rule(name=st.sampled_from(sorted(MRI_CASES)), who=WHO, pick=st.integers(0, 1))
    def mri_action(self, name, who, pick):
        mri = self._open_mri()
        if mri is None:
            return
        actor = self.users[who or INTENDED[MRI_CASES[name][1]]]
        data = data_options(name, MRI_CASES)[pick]
        if name == "mark_performed" and data:
            data = {**scanned_now(data), "accession_number": f"ACC-{mri.pk}"}
        self._attempt(lambda: perform(MRI_MACHINE, mri.pk, name, actor, data=data))

    @rule(surgery=st.booleans())
    def advance(self, surgery):
        """The next step of the usual path, so random runs also reach the deep states."""
        state = Referral.objects.get(pk=self.referral.pk).state
        if state == "imaging":
            return self._advance_mri()
        name = {
            "submitted": "triage",
            "returned": "resubmit",
            "triaged": "record_assessment",
            "assessed": "request_mri",
            "neurosurgery": "record_consult",
            "concluded": "acknowledge",
            "results_review": "refer_neurosurgery" if surgery else "conclude",
        }.get(state)
        if name:
            self.referral_action(name, None, 0)

    def _advance_mri(self):
        mri = self._open_mri()
        if mri.state == "reported":
            return self.system_action("imaging_complete")
        name = {
            "requested": "protocol",
            "protocoled": "schedule",
            "needs_rebooking": "schedule",
            "scheduled": "mark_performed",
            "performed": "sign_report",
        }[mri.state]
        if (
            name == "schedule"
            and mri.appointments.filter(status="scan_failed", sedation="general_anaesthesia").exists()
        ):
            data = {**MRI_CASES["schedule"][2], "sedation": "nurse_sedation"}
            return self._attempt(lambda: MRI_MACHINE.run(name, pk=mri.pk, actor=self.users["coord"], data=data))
        self.mri_action(name, None, 0)

    @rule(which=st.sampled_from(["imaging_complete", "auto_close", "flag_missed"]))
    def system_action(self, which):
        system, later = get_system_user(), timezone.now() + timedelta(days=60)
        if which == "imaging_complete":
            self._attempt(lambda: services.referral_imaging_complete(referral_id=self.referral.pk, actor=system))
        elif which == "auto_close":
            self._attempt(lambda: services.referral_auto_close(referral_id=self.referral.pk, actor=system, now=later))
        elif (mri := self._open_mri()) is not None:
            self._attempt(lambda: imaging.mri_flag_missed(mri_request_id=mri.pk, actor=system, now=later))

    # --- invariants ----------------------------------------------------------------------------
    @invariant()
    def nothing_leaves_a_terminal_state(self):
        state = Referral.objects.get(pk=self.referral.pk).state
        if self.terminal_seen is not None:
            assert state == self.terminal_seen
        elif state in REFERRAL_MACHINE.terminal:
            self.terminal_seen = state
        self.reached.add(state)

    @invariant()
    def open_cases_have_exactly_one_open_primary_work_item(self):
        referral = Referral.objects.get(pk=self.referral.pk)
        primaries = WorkItem.objects.filter(referral=referral, status="open", is_primary=True)
        if referral.state in REFERRAL_MACHINE.terminal:
            assert not WorkItem.objects.filter(referral=referral, status="open").exists()
        elif referral.state == "imaging":
            awaiting_completion = not MRIRequest.objects.filter(referral=referral, state__in=OPEN_MRI).exists()
            assert primaries.count() == (0 if awaiting_completion else 1)
            assert not primaries.filter(machine="referral").exists()
        else:
            assert list(primaries.values_list("machine", flat=True)) == ["referral"]

    @invariant()
    def timeline_events_equal_successful_transitions(self):
        events = CaseEvent.objects.filter(referral=self.referral, kind="transition")
        # one action, several events: an MRI cancel also moves the referral back to assessed, and a
        # case cancel also cancels its open MRI request
        echoes = events.filter(transition="imaging_cancelled").count() + sum(
            e.data.get("mri_requests_cancelled", 0) for e in events.filter(machine="referral", transition="cancel")
        )
        assert events.count() - echoes == self.successes

    @invariant()
    def one_audit_row_per_transition(self):
        mri_ids = [str(pk) for pk in MRIRequest.objects.filter(referral=self.referral).values_list("pk", flat=True)]
        rows = (
            AuditLog.objects.filter(action="transition")
            .filter(object_type="referrals.referral", object_id=str(self.referral.pk))
            .count()
            + AuditLog.objects.filter(
                action="transition", object_type="imaging.mrirequest", object_id__in=mri_ids
            ).count()
        )
        assert rows == CaseEvent.objects.filter(referral=self.referral, kind="transition").count()

    @invariant()
    def at_most_one_open_mri_request(self):
        assert MRIRequest.objects.filter(referral=self.referral, state__in=OPEN_MRI).count() <= 1


@pytest.mark.slow
def test_random_action_sequences_keep_the_pathway_invariants(db):
    ensure_role_groups()
    roles = {
        "ped": Role.PEDIATRICIAN,
        "other_ped": Role.PEDIATRICIAN,
        "neuro": Role.NEUROLOGIST,
        "coord": Role.IMAGING_COORDINATOR,
        "rad": Role.NEURORADIOLOGIST,
        "surg": Role.NEUROSURGEON,
        "admin": Role.ADMIN,
        "outsider": None,
    }
    CaseMachine.users = {name: f.UserFactory(username=f"h_{name}", role=role) for name, role in roles.items()}
    run_state_machine_as_test(
        CaseMachine,
        settings=settings(
            # CI runs the same 30 sequences every time; PATHWAY_EXAMPLES=500 searches afresh and deeper
            max_examples=int(os.environ.get("PATHWAY_EXAMPLES", "30")),
            derandomize="PATHWAY_EXAMPLES" not in os.environ,
            database=None,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert {"imaging", "results_review", "closed", "cancelled"} <= CaseMachine.reached, CaseMachine.reached
