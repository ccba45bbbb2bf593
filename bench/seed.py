"""Bulk seeding for the benchmark: N referrals with patients, guardians, MRI requests, reports, work
items and timeline events, spread over every state, written with bulk inserts (not services: the
services are what we measure, and 100,000 cases through them would take an hour)."""

import random
import sys
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from carepath.models import CaseEvent, Machine, WorkItem, WorkItemKind
from carepath.pathway.priority import Priority
from carepath.pathway.roles import Role, ensure_role_groups
from imaging.models import MRIRequest, NeuroradiologyReport
from referrals import samples
from referrals.models import Guardian, Patient, Referral

BATCH = 5000
PASSWORD = "bench-password-1"
# share of cases per state (a service in steady state: most cases closed, a long tail in every step)
STATES = {
    "submitted": 10,
    "returned": 2,
    "triaged": 15,
    "assessed": 8,
    "imaging": 15,
    "results_review": 8,
    "neurosurgery": 2,
    "concluded": 5,
    "closed": 25,
    "declined": 5,
    "cancelled": 5,
}
TRIAGED_PRIORITIES = [Priority.ROUTINE] * 6 + [Priority.URGENT] * 3 + [Priority.ASAP]
# the sample mother, as a row (bulk inserts write no email: the benchmark sends nothing)
GUARDIAN = {k: v for k, v in samples.guardian().items() if k in ("name", "relationship", "phone")}
PATH = ["submitted", "triaged", "assessed", "imaging", "results_review", "concluded", "closed"]
REFERRAL_STEP = {
    "submitted": (WorkItemKind.TRIAGE, Role.NEUROLOGIST),
    "returned": (WorkItemKind.ANSWER_QUERY, Role.PEDIATRICIAN),
    "triaged": (WorkItemKind.FIRST_ASSESSMENT, Role.NEUROLOGIST),
    "assessed": (WorkItemKind.DECIDE_NEXT_STEP, Role.NEUROLOGIST),
    "results_review": (WorkItemKind.RESULTS_REVIEW, Role.NEUROLOGIST),
    "neurosurgery": (WorkItemKind.NEUROSURGERY_CONSULT, Role.NEUROSURGEON),
    "concluded": (WorkItemKind.ACKNOWLEDGE_OUTCOME, Role.PEDIATRICIAN),
}
MRI_STEP = {
    "requested": (WorkItemKind.PROTOCOL_MRI, Role.NEURORADIOLOGIST),
    "protocoled": (WorkItemKind.SCHEDULE_MRI, Role.IMAGING_COORDINATOR),
    "scheduled": (WorkItemKind.PERFORM_MRI, Role.IMAGING_COORDINATOR),
    "performed": (WorkItemKind.REPORT_MRI, Role.NEURORADIOLOGIST),
}


def progress(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.monotonic() - started, 1e-9)
    sys.stderr.write(f"\r{label:<14} [{'#' * filled}{'.' * (width - filled)}] {done:>7}/{total} {rate:,.0f}/s")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def users() -> dict[str, list]:
    ensure_role_groups()
    User = get_user_model()
    made = {}
    for role, count in [
        (Role.PEDIATRICIAN, 50),
        (Role.NEUROLOGIST, 5),
        (Role.IMAGING_COORDINATOR, 3),
        (Role.NEURORADIOLOGIST, 3),
        (Role.NEUROSURGEON, 2),
    ]:
        group = Group.objects.get(name=role)
        made[role] = []
        for n in range(count):
            user, created = User.objects.get_or_create(username=f"bench_{role}_{n}")
            if created:
                user.set_password(PASSWORD)
                user.save()
                user.groups.add(group)
            made[role].append(user)
    return made


def _bulk(model, rows: list, label: str, started: float, total: int, done: list) -> list:
    created = []
    for i in range(0, len(rows), BATCH):
        created += model.objects.bulk_create(rows[i : i + BATCH])
        done[0] += len(rows[i : i + BATCH])
        progress(label, min(done[0], total), total, started)
    return created


def seed(n: int, seed_value: int = 7) -> dict:
    rng = random.Random(seed_value)
    people = users()
    peds, neuros = people[Role.PEDIATRICIAN], people[Role.NEUROLOGIST]
    rad = people[Role.NEURORADIOLOGIST][0]
    now = timezone.now()
    states = rng.choices(list(STATES), weights=list(STATES.values()), k=n)
    started = time.monotonic()
    with transaction.atomic():
        patients = _bulk(
            Patient,
            [
                Patient(  # bulk_create skips Patient.save: the keys it writes are given here
                    mrn=f"B{i:08d}",
                    mrn_key=f"b{i:08d}",
                    name_key=f"child{i} bench",
                    given_name="Bench",
                    family_name=f"Child{i}",
                    sex="female",
                    birth_date=(now - timedelta(days=rng.randint(200, 5500))).date(),
                    created_by=rng.choice(peds),
                )
                for i in range(n)
            ],
            "patients",
            started,
            n,
            [0],
        )
        _bulk(
            Guardian,
            [Guardian(patient=p, **GUARDIAN) for p in patients],
            "guardians",
            time.monotonic(),
            n,
            [0],
        )
        referrals = _referrals(rng, patients, states, peds, now)
        mris = _mri_requests(rng, referrals, neuros, now)
        _reports(referrals, mris, rad, now)
        _work_items(rng, referrals, mris, now)
        _events(rng, referrals, neuros, now)
    return {"referrals": n, "seconds": round(time.monotonic() - started, 1)}


def _referrals(rng, patients, states, peds, now) -> list[Referral]:
    rows = []
    for patient, state in zip(patients, states, strict=True):
        submitted = now - timedelta(days=rng.uniform(0, 365))
        ped = rng.choice(peds)
        reached = PATH.index(state) if state in PATH else 1
        rows.append(
            Referral(
                patient=patient,
                referred_by=ped,
                created_by=ped,
                state=state,
                version=1 + reached,
                reason=samples.REFERRAL["reason"],
                symptom_onset=submitted.date() - timedelta(days=90),
                side=samples.REFERRAL["side"],
                muscles=samples.REFERRAL["muscles"],
                requested_priority=samples.REFERRAL["requested_priority"],
                priority="" if state in ("submitted", "returned") else rng.choice(TRIAGED_PRIORITIES),
                submitted_at=submitted,
                updated_at=submitted,
                triaged_at=submitted + timedelta(days=1) if reached >= 1 else None,
                mri_requested_at=submitted + timedelta(days=20) if reached >= 3 else None,
                neurosurgery_requested_at=submitted + timedelta(days=60) if state == "neurosurgery" else None,
                concluded_at=submitted + timedelta(days=70) if reached >= 5 else None,
                closed_at=submitted + timedelta(days=75) if state in ("closed", "declined", "cancelled") else None,
            )
        )
    return _bulk(Referral, rows, "referrals", time.monotonic(), len(rows), [0])


def _mri_requests(rng, referrals, neuros, now) -> dict[int, MRIRequest]:
    rows = []
    for r in referrals:
        if r.mri_requested_at is None:
            continue
        state = rng.choice(list(MRI_STEP) + ["needs_rebooking"]) if r.state == "imaging" else "reported"
        rows.append(
            MRIRequest(
                referral=r,
                state=state,
                priority=r.priority or "routine",
                clinical_question=samples.CLINICAL_QUESTION,
                requested_by=rng.choice(neuros),
                requested_at=r.mri_requested_at,
                updated_at=r.mri_requested_at,
                protocol="cpa_t2_tof" if state != "requested" else "",
            )
        )
    created = _bulk(MRIRequest, rows, "mri requests", time.monotonic(), len(rows), [0])
    return {m.referral_id: m for m in created}


def _reports(referrals, mris, rad, now) -> None:
    rows = [
        NeuroradiologyReport(
            mri_request=m,
            findings=samples.FINDINGS_NVC,
            impression=samples.IMPRESSION_NVC,
            category="routine",
            signed_by=rad,
            signed_at=m.requested_at + timedelta(days=10),
        )
        for m in mris.values()
        if m.state == "reported"
    ]
    _bulk(NeuroradiologyReport, rows, "reports", time.monotonic(), len(rows), [0])


def _work_items(rng, referrals, mris, now) -> None:
    rows = []
    for r in referrals:
        base = dict(referral=r, priority=r.priority or r.requested_priority, created_at=r.submitted_at)
        rows.append(
            WorkItem(
                machine=Machine.REFERRAL,
                kind=WorkItemKind.TRIAGE,
                queue=Role.NEUROLOGIST,
                status="done" if r.state != "submitted" else "open",
                due_at=r.submitted_at + timedelta(days=5),
                **base,
            )
        )
        step = REFERRAL_STEP.get(r.state) if r.state != "submitted" else None
        mri = mris.get(r.pk)
        if r.state == "imaging" and mri is not None:
            step = MRI_STEP.get(mri.state, (WorkItemKind.REBOOK_MRI, Role.IMAGING_COORDINATOR))
        if step is not None:
            kind, queue = step
            due = now + timedelta(hours=rng.uniform(-24 * 20, 24 * 40))  # about a third overdue
            rows.append(
                WorkItem(
                    machine=Machine.MRI if r.state == "imaging" else Machine.REFERRAL,
                    kind=kind,
                    queue=queue,
                    status="open",
                    due_at=due,
                    mri_request=mri if r.state == "imaging" else None,
                    assigned_to=r.referred_by if queue == Role.PEDIATRICIAN else None,
                    **base,
                )
            )
    _bulk(WorkItem, rows, "work items", time.monotonic(), len(rows), [0])


def _events(rng, referrals, neuros, now) -> None:
    rows = []
    for r in referrals:
        rows.append(
            CaseEvent(
                referral=r,
                machine=Machine.REFERRAL,
                kind="created",
                to_state="submitted",
                actor=r.created_by,
                at=r.submitted_at,
            )
        )
        reached = PATH.index(r.state) if r.state in PATH else 1
        for i in range(1, reached + 1):
            rows.append(
                CaseEvent(
                    referral=r,
                    machine=Machine.REFERRAL,
                    transition="bench",
                    from_state=PATH[i - 1],
                    to_state=PATH[i],
                    actor=rng.choice(neuros),
                    at=r.submitted_at + timedelta(days=i),
                )
            )
    _bulk(CaseEvent, rows, "events", time.monotonic(), len(rows), [0])
