"""Control characters are refused in every name and single-line field, at every door (API 422 naming
the field, a form error on the web and in the admin), and stored ones cannot break a message
(carepath/pathway/text.py; docs/security.md, "Control characters")."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from carepath.models import Delivery, DeliveryState
from carepath.pathway import text
from carepath.pathway.text import TextGuard
from carepath.timers import sweep
from imaging.machine import MRI_MACHINE
from referrals.machine import REFERRAL_MACHINE
from referrals.models import Patient, Referral
from tests import factories
from tests.api.test_referrals_api import PATIENT, REFERRAL
from tests.web.test_pages import NEW_PATIENT, REFERRAL_POST

pytestmark = pytest.mark.django_db

REFUSED_IN_A_NAME = {
    "carriage return": "Sam\rBcc: x@example.org",
    "line feed": "Sam\nX",
    "tab": "Sam\tX",
    "escape": "Sam\x1b[31m",
    "C1 next line": "Sam\x85X",
    "line separator": "Sam\u2028X",
    "paragraph separator": "Sam\u2029X",
    "zero-width space": "Sa\u200bm",
    "right-to-left override": "Sam\u202eX",
    "byte-order mark": "\ufeffSam",
}


@pytest.mark.parametrize("what", REFUSED_IN_A_NAME)
def test_the_api_refuses_a_control_character_in_a_childs_name_with_422_naming_the_field(api, pediatrician, what):
    response = api(pediatrician).post(
        "/api/v1/patients/", {**PATIENT, "given_name": REFUSED_IN_A_NAME[what]}, format="json"
    )

    assert response.status_code == 422, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == ["given_name"]
    assert "\r" not in response.json()["detail"] and "Bcc" not in response.json()["detail"]  # never echoed
    assert not Patient.objects.exists()


def test_a_carers_name_and_phone_are_single_line_too(api, pediatrician):
    guardian = {**PATIENT["guardians"][0], "name": "Jo\r\nHale", "phone": "+44\t7700"}

    response = api(pediatrician).post("/api/v1/patients/", {**PATIENT, "guardians": [guardian]}, format="json")

    assert response.status_code == 422
    assert set(response.json()["errors"]["guardians"]["0"]) == {"name", "phone"}


def test_joiners_that_names_in_some_scripts_need_are_accepted(api, pediatrician):
    response = api(pediatrician).post(
        "/api/v1/patients/", {**PATIENT, "given_name": "Nar\u200cges", "family_name": "Hale\u200d"}, format="json"
    )

    assert response.status_code == 201, response.json()


def test_multi_line_text_keeps_line_breaks_and_tabs_but_not_other_control_characters(api, pediatrician):
    patient = factories.make_patient(pediatrician)
    client = api(pediatrician)

    ok = client.post(
        "/api/v1/referrals/",
        {**REFERRAL, "patient": patient.pk, "reason": "Twitching.\r\n\tWorse at night."},
        format="json",
    )
    bell = client.post("/api/v1/referrals/", {**REFERRAL, "patient": patient.pk, "reason": "Twitch\x07"}, format="json")

    assert ok.status_code == 201
    assert bell.status_code == 422 and list(bell.json()["errors"]) == ["reason"]
    assert Referral.objects.count() == 1


def test_a_control_character_beside_another_error_is_a_400_naming_both(api, pediatrician):
    response = api(pediatrician).post(
        "/api/v1/patients/", {**PATIENT, "given_name": "Sam\rX", "birth_date": "not a date"}, format="json"
    )

    assert response.status_code == 400
    assert {"given_name", "birth_date"} <= set(response.json()["errors"])


def test_a_transitions_single_line_field_is_guarded_too(api, coordinator, pathway):
    referral = pathway.protocoled()
    mri = pathway.mri(referral)
    start = (timezone.now() + timedelta(days=5)).isoformat()

    response = api(coordinator).post(
        f"/api/v1/mri-requests/{mri.pk}/transitions/",
        {"transition": "schedule", "data": {"scheduled_start": start, "location": "Scanner\r\n2"}},
        format="json",
    )

    assert response.status_code == 422, response.json()
    assert "location" in response.json()["errors"]


def test_every_input_serializer_of_every_transition_refuses_control_characters():
    inputs = [t.input_serializer for m in (REFERRAL_MACHINE, MRI_MACHINE) for t in m.transitions if t.input]
    unguarded = [cls.__name__ for cls in inputs if not issubclass(cls, TextGuard)]
    assert inputs and not unguarded, unguarded


# --- the web and the admin -------------------------------------------------------------------------
def test_the_new_referral_form_shows_the_error_on_the_name_and_creates_nothing(client, pediatrician):
    post = {**NEW_PATIENT, **REFERRAL_POST, "family_name": "Hale\rX"}
    client.force_login(pediatrician)

    response = client.post(reverse("referral_new"), post)

    assert response.status_code == 400
    assert "Keep this on one line" in response.content.decode()
    assert not Patient.objects.exists() and not Referral.objects.exists()


def test_the_admin_refuses_a_control_character_in_a_childs_name(client, pediatrician, groups):
    patient = factories.make_patient(pediatrician)
    admin = factories.UserFactory(role="admin", username="ops", is_staff=True, is_superuser=True)
    client.force_login(admin)
    form = {
        "mrn": patient.mrn,
        "given_name": "Sam\u2028X",
        "family_name": patient.family_name,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "time_zone": "",
        "guardians-TOTAL_FORMS": "0",
        "guardians-INITIAL_FORMS": "0",
    }

    response = client.post(reverse("admin:referrals_patient_change", args=[patient.pk]), form)

    assert response.status_code == 200  # the form again, with the error
    assert "Keep this on one line" in response.content.decode()
    patient.refresh_from_db()
    assert patient.given_name != "Sam\u2028X"


# --- stored data cannot break a message --------------------------------------------------------------
def test_a_line_break_already_in_a_childs_name_never_dead_letters_the_familys_reminder(pathway):
    referral = pathway.scheduled()
    Patient.objects.filter(pk=referral.patient_id).update(given_name="Alex\r\nBcc: someone@example.org")
    Referral.objects.get(pk=referral.pk).patient.guardians.update(contact_preference="email")
    start = pathway.mri(referral).appointment.start

    sweep.run_sync(start - timedelta(days=1))

    email = Delivery.objects.get(channel="email", guardian__isnull=False)
    assert email.state == DeliveryState.SENT, email.last_error
    sent = [m for m in mail.outbox if m.to == [email.to]][-1]
    assert "\r" not in sent.subject and "\n" not in sent.subject
    assert sent.subject.startswith("Reminder: Alex Bcc: someone@example.org")
    assert sent.bcc == [] and sent.message()["Bcc"] is None


def test_a_subject_stored_with_a_line_break_is_sent_on_one_line():
    now = timezone.now()
    row = Delivery.objects.create(
        dedupe_key="cc:1",
        channel="email",
        to="carer@example.org\r\n",
        subject="Reminder:\r\nBcc: x@example.org",
        body="MRI tomorrow",
        created_at=now,
        next_attempt_at=now,
    )

    from carepath.notify import delivery

    assert delivery.deliver([row.pk])["sent"] == 1
    assert mail.outbox[-1].subject == "Reminder: Bcc: x@example.org" and mail.outbox[-1].to == ["carer@example.org"]


def test_single_line_makes_any_value_one_clean_line():
    assert text.single_line("  Sam\r\n\tX\u2028Y\x00 ") == "Sam X Y"


def test_a_staff_members_name_refuses_control_characters_in_the_admin(neurologist):
    from django.contrib import admin
    from django.contrib.auth import get_user_model

    form_class = admin.site._registry[get_user_model()].form
    form = form_class(
        instance=neurologist,
        data={
            "username": neurologist.username,
            "first_name": "Ann\rX",
            "last_name": "Lee",
            "date_joined": "2026-01-01 00:00",
        },
    )

    assert not form.is_valid() and "first_name" in form.errors and "last_name" not in form.errors
