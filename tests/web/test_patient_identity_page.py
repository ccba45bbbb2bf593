"""Patient identity on the new-referral page (issue 13 item 9): look-up by normalised MRN, a child
registered by someone else shared without showing them anything first, the near-duplicate step."""

import pytest
from django.urls import reverse

from referrals.models import Patient, Referral
from tests import factories

from .conftest import NEW_CHILD as CHILD
from .conftest import REFERRAL_POST

pytestmark = pytest.mark.django_db


def _registered(pediatrician, **kw):
    return factories.make_patient(pediatrician, mrn="NEW123", given_name="Robin", family_name="Hale", **kw)


def test_your_patient_is_found_by_mrn_whatever_its_case_or_spacing(signed_in, pediatrician):
    patient = _registered(pediatrician)

    html = signed_in(pediatrician).get(reverse("referral_new"), {"mrn": " new123\u200b "}).content.decode()

    assert f'name="patient" value="{patient.pk}"' in html


def test_another_clinicians_patient_is_not_shown_by_mrn_alone(signed_in, pediatrician, other_pediatrician):
    _registered(pediatrician)

    html = signed_in(other_pediatrician).get(reverse("referral_new"), {"mrn": "NEW123"}).content.decode()

    assert "No child with this MRN is among your patients" in html
    assert "Robin" not in html and "HALE" not in html


def test_referring_a_child_another_clinician_registered_shares_the_record(signed_in, pediatrician, other_pediatrician):
    from datetime import date

    patient = _registered(pediatrician, birth_date=date(2016, 5, 1))
    first = factories.make_referral(pediatrician, patient=patient)
    client = signed_in(other_pediatrician)

    response = client.post(reverse("referral_new"), {**CHILD, **REFERRAL_POST, "mrn": "new123"}, follow=True)

    referral = Referral.objects.get(referred_by=other_pediatrician)
    assert referral.patient_id == patient.pk and Patient.objects.count() == 1
    assert "already registered with CarePath" in response.content.decode()
    assert client.get(reverse("case", args=[first.pk])).status_code == 404
    assert signed_in(pediatrician).get(reverse("case", args=[referral.pk])).status_code == 404


def test_a_near_duplicate_asks_to_confirm_and_then_registers(signed_in, pediatrician, other_pediatrician):
    from datetime import date

    _registered(pediatrician, birth_date=date(2016, 5, 1))
    client = signed_in(other_pediatrician)
    post = {**CHILD, **REFERRAL_POST, "mrn": "OTHER-7"}

    asked = client.post(reverse("referral_new"), post)

    assert asked.status_code == 409
    html = asked.content.decode()
    assert "A patient with the same name and date of birth is already registered" in html
    assert 'name="confirm_new_patient"' in html and 'value="Jo Hale"' in html
    assert Patient.objects.count() == 1 and not Referral.objects.exists()

    confirmed = client.post(reverse("referral_new"), {**post, "confirm_new_patient": "1"})

    assert confirmed.status_code == 302
    assert Patient.objects.count() == 2 and Referral.objects.get().patient.mrn == "OTHER-7"


def test_an_mrn_typed_with_invisible_characters_registers_the_clean_mrn(signed_in, pediatrician):
    response = signed_in(pediatrician).post(reverse("referral_new"), {**CHILD, **REFERRAL_POST, "mrn": "NEW\u200b123 "})

    assert response.status_code == 302
    assert Patient.objects.get().mrn == "NEW123"
