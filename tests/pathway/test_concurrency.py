"""Two people acting on one case at once must not corrupt it (real threads, real row locks)."""

import threading
from collections import Counter

import pytest
from django.db import connection

from carepath.pathway.errors import DomainError
from imaging.machine import MRI_MACHINE
from referrals.machine import REFERRAL_MACHINE
from referrals.models import Referral
from tests import factories as f

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("require_postgres"),
]


def race(actions):
    """Run the callables at the same instant, each in its own thread and DB connection."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def worker(i, action):
        try:
            barrier.wait()
            action()
            outcomes[i] = "ok"
        except DomainError as exc:
            outcomes[i] = type(exc).__name__
        except Exception as exc:  # a deadlock or integrity error would land here: the test must see it
            outcomes[i] = f"crash: {exc!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return Counter(outcomes)


def make_pathway():
    from carepath.pathway.roles import Role, ensure_role_groups

    ensure_role_groups()
    return f.Pathway(
        pediatrician=f.user_with_role(Role.PEDIATRICIAN, "ped"),
        neurologist=f.user_with_role(Role.NEUROLOGIST, "neuro"),
        coordinator=f.user_with_role(Role.IMAGING_COORDINATOR, "coord"),
        neuroradiologist=f.user_with_role(Role.NEURORADIOLOGIST, "rad"),
    )


def test_twenty_people_triaging_one_case_at_once_one_wins_and_one_event_is_written():
    pathway = make_pathway()
    referral = pathway.submitted()
    version = referral.version

    outcomes = race(
        [
            lambda: REFERRAL_MACHINE.run(
                "triage", pk=referral.pk, actor=pathway.neuro, data={"priority": "urgent"}, version=version
            )
        ]
        * 20
    )

    assert outcomes["ok"] == 1
    assert outcomes["StaleVersion"] + outcomes["TransitionNotAllowed"] == 19, outcomes
    referral.refresh_from_db()
    assert (referral.state, referral.version) == ("triaged", version + 1)
    assert referral.events.filter(transition="triage").count() == 1
    assert referral.work_items.filter(status="open", is_primary=True).count() == 1


def test_twenty_concurrent_was_not_brought_records_lose_no_update():
    pathway = make_pathway()
    referral = pathway.triaged()

    outcomes = race(
        [lambda: REFERRAL_MACHINE.run("record_was_not_brought", pk=referral.pk, actor=pathway.neuro, data={})] * 20
    )

    assert outcomes == Counter({"ok": 20})
    referral.refresh_from_db()
    assert referral.was_not_brought_count == 20
    assert referral.events.filter(transition="record_was_not_brought").count() == 20


def test_cancelling_the_mri_and_the_case_at_once_neither_deadlocks_nor_leaves_a_half_state():
    pathway = make_pathway()
    referral = pathway.protocoled()
    mri = pathway.mri(referral)

    outcomes = race(
        [
            lambda: MRI_MACHINE.run("cancel", pk=mri.pk, actor=pathway.coord, data={"reason": "Resolved."}),
            lambda: REFERRAL_MACHINE.run("cancel", pk=referral.pk, actor=pathway.neuro, data={"reason": "Moved."}),
        ]
    )

    assert not any(k.startswith("crash") for k in outcomes), outcomes
    referral = Referral.objects.get(pk=referral.pk)
    assert referral.mri_requests.get().state == "cancelled"
    # whichever came first, the case ends cancelled (from imaging, or from assessed after the MRI
    # cancel returned it there) with nothing left open
    assert referral.state == "cancelled"
    assert not referral.work_items.filter(status="open").exists()
