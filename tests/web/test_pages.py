"""My work, sign-in, new referral, MRI board, reading queue and notifications (the dashboard:
tests/web/test_dashboard_page.py)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from carepath.models import AuditLog, WorkItem
from imaging.models import MRIRequest
from referrals.models import Patient, Referral
from tests import factories

from . import conftest


# --- sign-in -------------------------------------------------------------------------------------
@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_signing_in_with_the_right_password_opens_my_work(client, pediatrician, fresh_cache):
    response = client.post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"


def test_after_five_failed_sign_ins_even_the_right_password_is_refused(client, pediatrician, fresh_cache):
    for _ in range(5):
        assert client.post(reverse("login"), {"username": "dr_ped", "password": "wrong"}).status_code == 200

    response = client.post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signing_in_with_the_right_password_never_locks_the_account(pediatrician, fresh_cache):
    from django.test import Client

    Client().post(reverse("login"), {"username": "dr_ped", "password": "wrong"})
    for _ in range(8):  # more than the five failures that lock it
        response = Client().post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD})
        assert response.status_code == 302

    assert Client().post(reverse("login"), {"username": "dr_ped", "password": "wrong"}).status_code == 200


def test_the_session_expires_after_thirty_idle_minutes(settings):
    # activity, not every request, keeps it alive (carepath/web/idle.py; tests/web/test_idle_timeout.py)
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and not settings.SESSION_SAVE_EVERY_REQUEST
    assert "carepath.web.idle.IdleTimeoutMiddleware" in settings.MIDDLEWARE


# --- My work -------------------------------------------------------------------------------------
def test_my_work_lists_the_neurology_queue_overdue_first(signed_in, neurologist, pediatrician):
    late, soon = factories.make_referral(pediatrician), factories.make_referral(pediatrician)
    WorkItem.objects.filter(referral=late).update(due_at=timezone.now() - timedelta(hours=3))
    WorkItem.objects.filter(referral=soon).update(due_at=timezone.now() + timedelta(hours=3))

    html = signed_in(neurologist).get(reverse("my_work")).content.decode()

    assert html.index("Overdue") < html.index(late.reference) < html.index("Due in the next 24 hours")
    assert html.index("Due in the next 24 hours") < html.index(soon.reference)


def test_my_work_shows_a_pediatrician_nothing_of_another_pediatricians_cases(signed_in, other_pediatrician, pathway):
    referral = pathway.concluded()  # waits on the referring pediatrician
    assert referral.reference not in signed_in(other_pediatrician).get(reverse("my_work")).content.decode()
    assert referral.reference in signed_in(pathway.ped).get(reverse("my_work")).content.decode()


def test_an_outsider_has_an_empty_worklist(signed_in, outsider, referral):
    html = signed_in(outsider).get(reverse("my_work")).content.decode()
    assert referral.reference not in html and "0 open items" in html


def test_my_work_filters_by_priority_and_step(signed_in, neurologist, pathway):
    triage = pathway.submitted()
    assess = pathway.triaged()
    client = signed_in(neurologist)

    by_step = client.get(reverse("my_work"), {"step": "first_assessment"}).content.decode()
    by_priority = client.get(reverse("my_work"), {"priority": "asap"}).content.decode()

    assert assess.reference in by_step and triage.reference not in by_step
    assert assess.reference not in by_priority and triage.reference not in by_priority


def test_my_work_refreshes_itself_with_an_htmx_partial(signed_in, neurologist, referral):
    response = signed_in(neurologist).get(reverse("my_work"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'hx-trigger="every 30s"' in html and "<html" not in html and referral.reference in html


def test_claim_and_release_move_the_item_without_changing_the_case(signed_in, neurologist, referral):
    item = WorkItem.objects.get(referral=referral, status="open")
    client = signed_in(neurologist)

    client.post(reverse("work_item_claim", args=[item.pk]))
    item.refresh_from_db()
    assert item.assigned_to == neurologist

    client.post(reverse("work_item_release", args=[item.pk]))
    item.refresh_from_db()
    assert item.assigned_to is None
    assert Referral.objects.get(pk=referral.pk).state == "submitted"


def test_claiming_an_item_on_an_invisible_case_is_404(signed_in, other_pediatrician, pathway):
    referral = pathway.concluded()
    item = WorkItem.objects.get(referral=referral, status="open")
    assert signed_in(other_pediatrician).post(reverse("work_item_claim", args=[item.pk])).status_code == 404


def test_claiming_another_roles_item_is_403(signed_in, coordinator, pathway):
    referral = pathway.results_review()  # neurologist's queue, visible to imaging
    item = WorkItem.objects.get(referral=referral, status="open", machine="referral")
    assert signed_in(coordinator).post(reverse("work_item_claim", args=[item.pk])).status_code == 403


def test_my_work_lists_are_audited(signed_in, neurologist, referral):
    signed_in(neurologist).get(reverse("my_work"))
    row = AuditLog.objects.get(action="list", actor=neurologist)
    assert row.changes["ids"] == [str(referral.pk)]


@pytest.mark.parametrize("cases", [1, 50])
def test_my_work_runs_a_constant_number_of_queries(
    signed_in, neurologist, pediatrician, cases, django_assert_max_num_queries
):
    patient = factories.make_patient(pediatrician)
    for _ in range(cases):
        factories.make_referral(pediatrician, patient=patient)
    client = signed_in(neurologist)
    # 12: besides the list, your delegations, the colleagues you may delegate to and your snoozed
    # steps (carepath/web/away.py), one query each whatever the number of cases
    with django_assert_max_num_queries(12):
        assert client.get(reverse("my_work")).status_code == 200


# --- new referral --------------------------------------------------------------------------------
REFERRAL_POST = {
    **conftest.REFERRAL_POST,
    "requested_priority": "asap",  # a red flag is ticked (referrals/rules.py)
    "red_flags": ["facial_weakness"],
}
NEW_PATIENT = conftest.NEW_CHILD


def test_a_pediatrician_refers_a_new_patient_with_a_guardian(signed_in, pediatrician):
    response = signed_in(pediatrician).post(reverse("referral_new"), {**NEW_PATIENT, **REFERRAL_POST})

    referral = Referral.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("case", args=[referral.pk])
    assert referral.muscles == ["orbicularis_oculi", "buccinator"] and referral.red_flags == ["facial_weakness"]
    assert referral.patient.guardians.get().name == "Jo Hale"


def test_only_the_first_carer_starts_with_parental_responsibility_ticked(signed_in, pediatrician):
    html = signed_in(pediatrician).get(reverse("referral_new"), {"mrn": "NOPE9"}).content.decode()
    first = html.split('name="guardian-0-has_parental_responsibility"')[1].split(">")[0]
    second = html.split('name="guardian-1-has_parental_responsibility"')[1].split(">")[0]
    assert "checked" in first and "checked" not in second


def test_finding_a_patient_by_mrn_offers_the_referral_form(signed_in, pediatrician):
    patient = factories.make_patient(pediatrician, mrn="KNOWN1")
    html = signed_in(pediatrician).get(reverse("referral_new"), {"mrn": "KNOWN1"}).content.decode()
    assert f'name="patient" value="{patient.pk}"' in html and "Any red flag means" in html


def test_an_unknown_mrn_offers_to_add_the_patient(signed_in, pediatrician):
    html = signed_in(pediatrician).get(reverse("referral_new"), {"mrn": "NOPE9"}).content.decode()
    assert "No child with this MRN is among your patients" in html and 'value="NOPE9"' in html


def test_a_referral_form_error_is_shown_beside_the_field_and_nothing_typed_is_lost(signed_in, pediatrician):
    post = {**NEW_PATIENT, **REFERRAL_POST, "symptom_onset": "2999-01-01", "clinical_notes": "Keeps this note"}
    response = signed_in(pediatrician).post(reverse("referral_new"), post)

    html = response.content.decode()
    assert response.status_code == 400
    assert "Symptom onset cannot be in the future." in html
    assert 'value="Robin"' in html and "Keeps this note" in html and 'value="facial_weakness" checked' in html
    assert 'value="Jo Hale"' in html
    assert not Patient.objects.exists() and not Referral.objects.exists()


def test_a_duplicate_mrn_is_reported_beside_the_mrn(signed_in, pediatrician):
    factories.make_patient(pediatrician, mrn="NEW123")
    html = signed_in(pediatrician).post(reverse("referral_new"), {**NEW_PATIENT, **REFERRAL_POST}).content.decode()
    assert "already registered" in html


def test_roles_that_do_not_refer_get_403_on_the_referral_form(signed_in, coordinator):
    assert signed_in(coordinator).get(reverse("referral_new")).status_code == 403


def test_referring_for_a_patient_you_cannot_see_is_404(signed_in, pediatrician, other_pediatrician):
    theirs = factories.make_patient(other_pediatrician)
    response = signed_in(pediatrician).post(reverse("referral_new"), {**REFERRAL_POST, "patient": theirs.pk})
    assert response.status_code == 404


# --- MRI board and reading queue -----------------------------------------------------------------
def test_the_board_shows_a_card_per_request_in_its_state_column(signed_in, coordinator, pathway):
    referral = pathway.scheduled()
    html = signed_in(coordinator).get(reverse("mri_board")).content.decode()
    assert referral.patient.family_name.upper() in html
    assert "General anaesthesia" in html or "None (awake)" in html  # sedation badge of the booking


def test_the_board_searches_by_mrn(signed_in, coordinator, pathway):
    a, b = pathway.protocoled(), pathway.protocoled()
    html = signed_in(coordinator).get(reverse("mri_board"), {"mrn": a.patient.mrn}).content.decode()
    assert a.patient.mrn in html and b.patient.mrn not in html


def test_a_coordinator_schedules_from_the_board(signed_in, coordinator, pathway):
    referral = pathway.protocoled()
    mri = referral.mri_requests.get()
    start = (timezone.localtime() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = signed_in(coordinator).post(
        reverse("mri_board"),
        {
            "machine": "mri",
            "object": mri.pk,
            "transition": "schedule",
            "version": mri.version,
            "scheduled_start": start,
            "location": "Scanner 1",
            "sedation": "",
            "sedation_override_reason": "",
        },
    )
    assert response.status_code == 302
    assert MRIRequest.objects.get(pk=mri.pk).state == "scheduled"


def test_a_board_error_reopens_the_card_form_with_the_input(signed_in, coordinator, pathway):
    referral = pathway.protocoled()
    mri = referral.mri_requests.get()
    response = signed_in(coordinator).post(
        reverse("mri_board"),
        {
            "machine": "mri",
            "object": mri.pk,
            "transition": "schedule",
            "version": mri.version,
            "scheduled_start": "2001-01-01T09:00",
            "location": "Scanner 9",
            "sedation": "none",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "must be in the future" in html and 'value="Scanner 9"' in html


def test_a_board_column_shows_its_most_due_cards_and_says_how_many_more(signed_in, coordinator, pathway, monkeypatch):
    from carepath.models import WorkItem
    from imaging import views as imaging_views

    monkeypatch.setattr(imaging_views, "COLUMN_LIMIT", 2)
    referrals = [pathway.protocoled() for _ in range(3)]
    for days, referral in zip((9, 1, 5), referrals, strict=True):  # the second is the most due
        WorkItem.objects.filter(mri_request__referral=referral, is_primary=True, status="open").update(
            due_at=timezone.now() + timedelta(days=days)
        )
    html = signed_in(coordinator).get(reverse("mri_board")).content.decode()
    late, first, middle = (r.patient.mrn for r in referrals)
    assert first in html and middle in html and late not in html
    assert html.index(first) < html.index(middle)
    assert "1 more; search by MRN" in html


def test_a_pediatrician_may_not_open_the_board(signed_in, pediatrician):
    assert signed_in(pediatrician).get(reverse("mri_board")).status_code == 403


@pytest.mark.parametrize("cases", [1, 20])
def test_the_board_runs_a_bounded_number_of_queries(
    signed_in, coordinator, pathway, cases, django_assert_max_num_queries
):
    for _ in range(cases):
        pathway.scheduled()
    client = signed_in(coordinator)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("mri_board")).status_code == 200


def test_a_neuroradiologist_signs_a_structured_report_from_the_reading_page(signed_in, neuroradiologist, pathway):
    referral = pathway.performed()
    mri = referral.mri_requests.get()
    client = signed_in(neuroradiologist)
    assert mri.accession_number in client.get(reverse("reading_queue")).content.decode()

    response = client.post(
        reverse("reading", args=[mri.pk]),
        {
            "machine": "mri",
            "object": mri.pk,
            "transition": "sign_report",
            "version": mri.version,
            "findings.nvc.status": "present",
            "findings.nvc.side": "left",
            "findings.nvc.vessel": "aica",
            "findings.nvc.segment": "root_exit_point",
            "findings.nvc.severity": "contact",
            "findings.lesion.present": "false",
            "impression": "AICA contact.",
            "category": "routine",
            "confirm": "yes",  # the "I have checked … and sign" box
        },
    )

    assert response.status_code == 302
    report = MRIRequest.objects.get(pk=mri.pk).report
    assert report.findings["nvc"]["vessel"] == "aica" and report.findings["lesion"]["present"] is False


def test_a_missing_nested_finding_is_reported_beside_it(signed_in, neuroradiologist, pathway):
    mri = pathway.performed().mri_requests.get()
    response = signed_in(neuroradiologist).post(
        reverse("reading", args=[mri.pk]),
        {
            "machine": "mri",
            "object": mri.pk,
            "transition": "sign_report",
            "version": mri.version,
            "findings.nvc.status": "present",
            "findings.lesion.present": "false",
            "impression": "x",
            "category": "routine",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="f-findings-nvc-vessel-err"' in html.replace(f"action-mri-{mri.pk}-sign-report-", "")


def test_the_reading_queue_is_for_neuroradiologists(signed_in, coordinator):
    assert signed_in(coordinator).get(reverse("reading_queue")).status_code == 403


# --- notifications -------------------------------------------------------------------------------
def test_the_badge_counts_unread_notifications_and_acknowledging_clears_it(signed_in, pediatrician, referral):
    note = factories.make_notification(pediatrician, referral=referral, key="k1", subject="Note k1")
    client = signed_in(pediatrician)
    assert 'id="notification-badge">1<' in client.get(reverse("notifications")).content.decode()

    client.post(reverse("notification_acknowledge", args=[note.pk]))

    assert 'id="notification-badge">0<' in client.get(reverse("notifications")).content.decode()


def test_acknowledging_someone_elses_notification_is_404(signed_in, pediatrician, neurologist, referral):
    note = factories.make_notification(neurologist, referral=referral, key="k2", subject="Note k2")
    assert signed_in(pediatrician).post(reverse("notification_acknowledge", args=[note.pk])).status_code == 404
    note.refresh_from_db()
    assert note.acknowledged_at is None


def test_a_right_password_forgets_the_accounts_earlier_failures(pediatrician, fresh_cache):
    from django.test import Client

    for _ in range(4):
        Client().post(reverse("login"), {"username": "dr_ped", "password": "wrong"})
    assert Client().post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD}).status_code == 302
    for _ in range(4):  # four more mistakes: nine in the window, but only four since the last sign-in
        Client().post(reverse("login"), {"username": "dr_ped", "password": "wrong"})

    assert Client().post(reverse("login"), {"username": "dr_ped", "password": factories.PASSWORD}).status_code == 302


def test_the_study_page_opens_with_its_report_form_open(signed_in, neuroradiologist, pathway):
    mri = pathway.performed().mri_requests.get()
    page = signed_in(neuroradiologist).get(reverse("reading", args=[mri.pk])).content.decode()
    assert f'id="action-mri-{mri.pk}-sign-report" open>' in page


def test_signing_a_report_says_what_happened_not_just_done(signed_in, neuroradiologist, pathway):
    from tests.factories import FINDINGS_NVC

    mri = pathway.performed().mri_requests.get()
    post = {"machine": "mri", "object": mri.pk, "transition": "sign_report", "version": mri.version}
    post |= {f"findings.nvc.{k}": v for k, v in FINDINGS_NVC["nvc"].items() if not isinstance(v, bool)}
    post |= {"findings.lesion.present": "false", "impression": "AICA loop.", "category": "routine", "confirm": "yes"}
    page = signed_in(neuroradiologist).post(reverse("reading", args=[mri.pk]), post, follow=True).content.decode()
    assert f"{mri} ({mri.referral.patient.family_name.upper()}): report signed; neurology has it now." in page


def test_the_study_page_of_a_reported_scan_shows_the_signed_report_beside_the_addendum_form(
    signed_in, neuroradiologist, pathway
):
    mri = pathway.results_review().mri_requests.get()
    page = signed_in(neuroradiologist).get(reverse("reading", args=[mri.pk])).content.decode()
    assert "Add an addendum" in page
    assert "<h2>Signed report</h2>" in page
    assert mri.report.impression in page and mri.report.findings_summary() in page
