"""Patient identity (issue 13 item 9): MRNs normalised and unique on the normalised form; a child
registered again by another clinician shares the record, not the referrals; near-duplicates are
confirmed. Services, with the three personas where access matters."""

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction

from carepath.models import AuditLog
from carepath.pathway import identity
from carepath.pathway.errors import Forbidden, InvalidData
from referrals import intake, selectors
from referrals.models import Patient, PatientShare
from referrals.patients import PossibleDuplicatePatient
from tests import factories

pytestmark = pytest.mark.django_db
BORN = date(2017, 3, 9)


def _register(actor, mrn="AB-1234", given="Robin", family="Hale", born=BORN, **kw):
    return intake.patient_create(actor=actor, mrn=mrn, given_name=given, family_name=family, birth_date=born, **kw)


# --- normalisation ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    ["AB-1234", "ab-1234", "  AB-1234\t", "AB\u200b-1234", "\ufeffAB-1234", "ＡＢ－１２３４", "Ab-12\u00ad34"],
)
def test_an_mrn_is_the_same_whatever_invisible_width_or_case_it_was_typed_with(typed):
    assert identity.mrn_key(typed) == "ab-1234"


def test_an_mrn_is_stored_as_written_but_without_what_no_one_can_see(pediatrician):
    patient = _register(pediatrician, mrn=" AB\u200b-1234 ")

    patient.refresh_from_db()
    assert (patient.mrn, patient.mrn_key) == ("AB-1234", "ab-1234")


def test_two_records_can_never_share_a_normalised_mrn_in_the_database(pediatrician):
    _register(pediatrician)

    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(mrn="ab-1234 ", given_name="X", family_name="Y", birth_date=BORN)


def test_the_same_mrn_for_another_child_is_refused_without_describing_the_registered_one(
    pediatrician, other_pediatrician
):
    _register(pediatrician)

    with pytest.raises(InvalidData) as refused:
        _register(other_pediatrician, mrn="ab-1234", given="Sam", family="Other", born=date(2019, 1, 1))

    message = " ".join(refused.value.errors["mrn"])
    assert "already registered" in message
    assert "Robin" not in message and "Hale" not in message and "2017" not in message
    assert Patient.objects.count() == 1


def test_the_data_migration_normalises_existing_rows_and_stops_on_a_clash(pediatrician):
    migration = importlib.import_module("referrals.migrations.0003_patient_identity")
    patient = _register(pediatrician)
    Patient.objects.filter(pk=patient.pk).update(mrn=" AB\u200b-1234 ", mrn_key="stale", name_key="")

    migration.normalise(apps, None)

    patient.refresh_from_db()
    assert (patient.mrn, patient.mrn_key, patient.name_key) == ("AB-1234", "ab-1234", "hale robin")
    other = _register(pediatrician, mrn="CD-1", given="Sam", family="Lee")
    Patient.objects.filter(pk=other.pk).update(mrn="ab-1234\u200b", mrn_key="cd-1")
    with pytest.raises(RuntimeError, match="merge"):
        migration.normalise(apps, None)


# --- a child registered by another clinician: the record is shared, the referrals are not ------------
def test_a_second_pediatrician_registering_the_same_child_shares_the_record(pediatrician, other_pediatrician):
    first = _register(pediatrician)

    again = _register(other_pediatrician, mrn="ab-1234\u200b", given="Robbie", family=" HALE ")

    assert again.pk == first.pk and again.shared
    assert Patient.objects.count() == 1
    assert PatientShare.objects.filter(patient=first, clinician=other_pediatrician).exists()
    assert AuditLog.objects.filter(actor=other_pediatrician, changes__shared_record=True).exists()


def test_each_referral_of_a_shared_child_stays_visible_only_to_its_own_referrer(
    pediatrician, other_pediatrician, neurologist, groups
):
    third = factories.UserFactory(role="pediatrician", username="dr_third")
    patient = _register(pediatrician)
    mine = factories.make_referral(pediatrician, patient=patient)
    _register(other_pediatrician)
    theirs = factories.make_referral(other_pediatrician, patient=patient)

    assert list(selectors.referrals_visible_to(pediatrician)) == [mine]
    assert list(selectors.referrals_visible_to(other_pediatrician)) == [theirs]
    assert set(selectors.referrals_visible_to(neurologist)) == {mine, theirs}
    # both referrers see the shared record; a third pediatrician does not
    assert selectors.patients_visible_to(other_pediatrician).filter(pk=patient.pk).exists()
    assert not selectors.patients_visible_to(third).filter(pk=patient.pk).exists()


def test_guardians_sent_with_a_shared_registration_are_not_added(pediatrician, other_pediatrician):
    patient = _register(pediatrician, guardians=[{"name": "Jo Hale", "relationship": "mother", "phone": "1"}])
    intruder = {"name": "Not Family", "relationship": "other", "email": "someone@example.org"}

    _register(other_pediatrician, guardians=[intruder])

    assert [g.name for g in patient.guardians.all()] == ["Jo Hale"]


def test_registering_needs_a_clinical_role(outsider):
    with pytest.raises(Forbidden):
        _register(outsider)


# --- near-duplicates -----------------------------------------------------------------------------------
def test_the_same_name_and_birth_date_under_another_mrn_is_flagged_until_confirmed(pediatrician, other_pediatrician):
    _register(pediatrician)

    with pytest.raises(PossibleDuplicatePatient) as flagged:
        _register(other_pediatrician, mrn="ZZ-9", given=" robin ", family="HALE")
    assert flagged.value.status == 409 and "Hale" not in flagged.value.detail
    assert Patient.objects.count() == 1

    second = _register(other_pediatrician, mrn="ZZ-9", given="Robin", family="Hale", confirm_new_patient=True)

    assert not second.shared and Patient.objects.count() == 2
    row = AuditLog.objects.get(object_type="referrals.patient", object_id=str(second.pk), action="create")
    assert row.changes["confirmed_not_a_duplicate"] is True


def test_another_name_or_birth_date_is_not_a_near_duplicate(pediatrician):
    _register(pediatrician)

    _register(pediatrician, mrn="ZZ-1", given="Robin", family="Hale", born=date(2017, 3, 10))
    _register(pediatrician, mrn="ZZ-2", given="Robyn", family="Hale")

    assert Patient.objects.count() == 3
