"""Audit completeness on the web and in the admin (docs/security.md, "Audit trail"): every row names
the client's address and user agent; admin lists, searches and change pages, CSV downloads, denied
attempts and failed sign-ins leave rows; the admin's "who looked at this child" page finds them."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from carepath.models import AuditLog, Delivery
from tests import factories

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (ward PC)", "REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def admin_user(admin_user):
    """An administrator as `add_user --role admin` makes one: staff and superuser."""
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    return admin_user


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_case_page_view_records_the_clients_address_and_user_agent(signed_in, pediatrician, referral):
    signed_in(pediatrician).get(reverse("case", args=[referral.pk]), **BROWSER)

    row = AuditLog.objects.filter(action="view", object_id=str(referral.pk)).latest("id")
    assert (row.address, row.user_agent, row.token_id, row.channel) == (
        "203.0.113.9",
        BROWSER["HTTP_USER_AGENT"],
        None,
        "web",
    )


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_declared(signed_in, pediatrician, referral, settings):
    client = signed_in(pediatrician)
    forged = {**BROWSER, "HTTP_X_FORWARDED_FOR": "198.51.100.1, 192.0.2.77"}

    settings.CAREPATH_BEHIND_PROXY = False
    client.get(reverse("case", args=[referral.pk]), **forged)
    assert AuditLog.objects.filter(action="view").latest("id").address == "203.0.113.9"

    settings.CAREPATH_BEHIND_PROXY = True  # the proxy appended the address it saw: the last one
    client.get(reverse("case", args=[referral.pk]), **forged)
    assert AuditLog.objects.filter(action="view").latest("id").address == "192.0.2.77"


@pytest.mark.parametrize(
    "changelist",
    ["referrals_patient_changelist", "referrals_referral_changelist", "imaging_neuroradiologyreport_changelist"],
)
def test_an_admin_list_or_search_records_which_records_it_showed(signed_in, admin_user, pathway, changelist):
    case = pathway.results_review()
    client = signed_in(admin_user)

    client.get(reverse(f"admin:{changelist}"), {"q": case.patient.mrn}, **BROWSER)

    row = AuditLog.objects.filter(action="list", channel="admin").latest("id")
    assert row.changes["ids"] and f"q={case.patient.mrn}" in row.changes["query"]
    assert (row.actor, row.address, row.user_agent) == (admin_user, "203.0.113.9", BROWSER["HTTP_USER_AGENT"])


def test_an_admin_delivery_page_view_names_the_child(signed_in, admin_user, referral):
    delivery = Delivery.objects.create(
        dedupe_key="d-1", channel="email", to="sam.carer@example.org", body="…", referral=referral,
        created_at=timezone.now(), next_attempt_at=timezone.now(),
    )  # fmt: skip
    client = signed_in(admin_user)

    client.get(reverse("admin:carepath_delivery_changelist"))
    client.get(reverse("admin:carepath_delivery_change", args=[delivery.pk]))

    assert AuditLog.objects.filter(action="list", object_type="carepath.delivery").exists()
    view = AuditLog.objects.filter(action="view", object_type="carepath.delivery").get()
    assert view.patient_id == referral.patient_id


def test_reading_sla_policies_in_the_admin_records_nothing(signed_in, admin_user):
    before = AuditLog.objects.count()
    signed_in(admin_user).get(reverse("admin:carepath_slapolicy_changelist"))
    assert AuditLog.objects.count() == before


def test_a_dashboard_csv_download_is_audited(signed_in, neurologist, pathway):
    pathway.closed()

    signed_in(neurologist).get(reverse("dashboard"), {"csv": "loop_closure"}, **BROWSER)

    row = AuditLog.objects.filter(action="export", object_type="dashboard").get()
    assert (row.actor, row.object_id, row.address) == (neurologist, "loop_closure", "203.0.113.9")


def test_an_outsiders_attempt_on_a_case_is_audited_against_the_child(signed_in, other_pediatrician, referral):
    response = signed_in(other_pediatrician).get(reverse("case", args=[referral.pk]), **BROWSER)

    assert response.status_code == 404
    row = AuditLog.objects.filter(action="denied").get()
    assert (row.actor, row.object_type, row.object_id, row.patient_id) == (
        other_pediatrician,
        "referrals.referral",
        str(referral.pk),
        referral.patient_id,
    )
    assert row.changes["status"] == 404 and row.address == "203.0.113.9"


def test_a_refused_action_on_a_case_is_audited(signed_in, pediatrician, referral):
    response = signed_in(pediatrician).post(
        reverse("case", args=[referral.pk]), {"machine": "referral", "transition": "triage", "priority": "urgent"}
    )

    assert response.status_code == 403
    assert AuditLog.objects.filter(action="denied", patient_id=referral.patient_id, actor=pediatrician).exists()


def test_a_page_that_does_not_exist_is_not_an_attempt_on_a_record(signed_in, pediatrician):
    signed_in(pediatrician).get("/no-such-page/")
    assert not AuditLog.objects.filter(action="denied").exists()


@pytest.mark.parametrize("door", ["login", "admin:login"])
def test_a_failed_sign_in_is_audited_with_the_username_tried(client, pediatrician, door):
    client.post(reverse(door), {"username": "dr_ped", "password": "wrong"}, **BROWSER)

    row = AuditLog.objects.filter(action="sign_in_failed").get()
    assert (row.actor, row.object_id, row.changes, row.address) == (
        None,
        str(pediatrician.pk),
        {"username": "dr_ped"},
        "203.0.113.9",
    )
    assert row.channel == ("admin" if door.startswith("admin") else "web")
    assert "wrong" not in str(row.changes)


# --- who looked at this child ---------------------------------------------------------------------
def test_the_admin_sees_who_looked_at_a_child_newest_first(client, signed_in, pediatrician, neurologist, admin_user):
    child = factories.make_referral(pediatrician)
    other = factories.make_referral(pediatrician)
    signed_in(neurologist).get(reverse("case", args=[child.pk]), **BROWSER)
    signed_in(neurologist).get(reverse("my_work"))  # a list that shows both children
    signed_in(neurologist).get(reverse("case", args=[other.pk]))

    history = signed_in(admin_user).get(reverse("admin:referrals_patient_access", args=[child.patient_id]))

    assert history.status_code == 200
    rows = list(history.context["page"])
    assert [r.at for r in rows] == sorted((r.at for r in rows), reverse=True)
    seen = {(r.actor_username, r.action, r.object_id) for r in rows}
    assert ("dr_neuro", "view", str(child.pk)) in seen
    assert any(r.action == "list" and str(child.pk) in r.changes["ids"] for r in rows)
    assert ("dr_neuro", "view", str(other.pk)) not in seen
    assert ("dr_ped", "create", str(child.pk)) in seen
    assert "203.0.113.9" in history.content.decode()


def test_the_access_history_names_records_and_actions_in_words(signed_in, pathway, admin_user):
    case = pathway.triaged()
    signed_in(pathway.neuro).get(reverse("case", args=[case.pk]))

    html = signed_in(admin_user).get(reverse("admin:referrals_patient_access", args=[case.patient_id])).content.decode()

    assert f"Referral #{case.pk}" in html and "referrals.referral" not in html
    assert "Triage: Submitted → Triaged" in html


def test_the_access_history_is_paginated(signed_in, neurologist, admin_user, referral):
    for _ in range(55):
        signed_in(neurologist).get(reverse("case", args=[referral.pk]))
    client = signed_in(admin_user)
    url = reverse("admin:referrals_patient_access", args=[referral.patient_id])

    first, second = client.get(url), client.get(url, {"p": 2})

    assert len(first.context["page"]) == 50 and first.context["page"].has_next()
    assert {r.pk for r in first.context["page"]}.isdisjoint({r.pk for r in second.context["page"]})


def test_the_patient_admin_page_links_to_who_looked(signed_in, admin_user, referral):
    page = signed_in(admin_user).get(reverse("admin:referrals_patient_change", args=[referral.patient_id]))
    assert reverse("admin:referrals_patient_access", args=[referral.patient_id]) in page.content.decode()


def test_only_administrators_see_who_looked(signed_in, neurologist, referral):
    neurologist.is_staff = True
    neurologist.save()
    response = signed_in(neurologist).get(reverse("admin:referrals_patient_access", args=[referral.patient_id]))
    assert response.status_code == 403


def test_who_looked_names_each_person_as_well_as_their_username(signed_in, neurologist, admin_user, referral):
    neurologist.first_name, neurologist.last_name = "Wei", "Li"
    neurologist.save(update_fields=["first_name", "last_name"])
    signed_in(neurologist).get(reverse("case", args=[referral.pk]))
    client = signed_in(admin_user)
    page = client.get(reverse("admin:referrals_patient_access", args=[referral.patient_id])).content.decode()
    assert f'Wei Li<br><span class="quiet">{neurologist.username}</span>' in page
