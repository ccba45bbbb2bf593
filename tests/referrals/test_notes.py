"""Clinical notes on a case: append-only, amended by a new row, who may read and write, @mentions
(referrals/notes.py; docs/design.md §3, "Notes")."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction

from carepath.models import AuditLog, CaseEvent, Notification
from carepath.pathway.errors import Forbidden, TransitionNotAllowed, Unprocessable
from carepath.pathway.roles import Role
from referrals import notes
from referrals.models import CaseNote
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_note_records_its_author_role_and_time_and_goes_on_the_timeline(referral, neurologist):
    note = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Spoke to mum: twitching worse at night.")

    assert (note.author, note.author_role, note.written_at is not None) == (neurologist, Role.NEUROLOGIST, True)
    event = CaseEvent.objects.get(referral=referral, kind=CaseEvent.Kind.CLINICAL_NOTE)
    assert event.data["text"] == "Spoke to mum: twitching worse at night."
    assert AuditLog.objects.filter(action="create", object_type="referrals.casenote", object_id=str(note.pk)).exists()


def test_a_note_cannot_be_changed_or_deleted_through_the_model(referral, neurologist):
    note = notes.note_add(referral_id=referral.pk, actor=neurologist, text="First thoughts.")
    note.text = "Rewritten history."

    with pytest.raises(PermissionDenied):
        note.save()
    with pytest.raises(PermissionDenied):
        note.delete()


def test_the_database_refuses_to_update_a_note(referral, neurologist):
    note = notes.note_add(referral_id=referral.pk, actor=neurologist, text="First thoughts.")

    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE referrals_casenote SET text = 'changed' WHERE id = %s", [note.pk])
    assert CaseNote.objects.get(pk=note.pk).text == "First thoughts."


def test_an_amendment_is_a_new_note_linked_to_the_one_it_corrects(referral, neurologist):
    first = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Left side.")

    fixed = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Right side, not left.", amends_id=first.pk)

    assert fixed.amends == first and CaseNote.objects.get(pk=first.pk).text == "Left side."
    assert CaseNote.objects.filter(referral=referral).count() == 2


def test_only_the_author_may_amend_a_note(referral, neurologist, colleague):
    first = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Left side.")

    with pytest.raises(Forbidden, match="Only the author"):
        notes.note_add(referral_id=referral.pk, actor=colleague, text="Right side.", amends_id=first.pk)


def test_a_note_already_amended_is_refused_a_second_amendment(referral, neurologist):
    first = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Left side.")
    notes.note_add(referral_id=referral.pk, actor=neurologist, text="Right side.", amends_id=first.pk)

    with pytest.raises(TransitionNotAllowed, match="already been amended"):
        notes.note_add(referral_id=referral.pk, actor=neurologist, text="Both sides.", amends_id=first.pk)


def test_amending_a_note_of_another_case_is_refused(pediatrician, neurologist):
    one, other = factories.make_referral(pediatrician), factories.make_referral(pediatrician)
    note = notes.note_add(referral_id=one.pk, actor=neurologist, text="About the first child.")

    with pytest.raises(Unprocessable):
        notes.note_add(referral_id=other.pk, actor=neurologist, text="Oops.", amends_id=note.pk)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EHR_CLIENT])
def test_roles_that_do_not_work_on_the_case_as_people_may_not_write(referral, groups, role):
    reader = factories.user_with_role(role)

    with pytest.raises(Forbidden, match="may read"):
        notes.note_add(referral_id=referral.pk, actor=reader, text="A note.")


def test_a_clinician_who_may_not_see_the_case_may_not_write_on_it(referral, other_pediatrician):
    with pytest.raises(Forbidden, match="may not see"):
        notes.note_add(referral_id=referral.pk, actor=other_pediatrician, text="A note.")


def test_a_mention_notifies_a_colleague_who_may_see_the_case(referral, neurologist, colleague):
    notes.note_add(referral_id=referral.pk, actor=neurologist, text="@dr_colleague could you see her on Friday?")

    told = Notification.objects.get(recipient=colleague)
    assert told.kind == "note_mention" and told.referral_id == referral.pk
    assert "could you see her on Friday" in told.body


def test_a_mention_of_someone_who_may_not_see_the_case_notifies_nobody(
    referral, neurologist, other_pediatrician, neurosurgeon
):
    note = notes.note_add(
        referral_id=referral.pk, actor=neurologist, text="Ask @dr_other_ped and @dr_surg, @nobody_here."
    )

    assert not Notification.objects.filter(kind="note_mention").exists()
    assert note.mentioned == []


def test_the_mention_e_mail_carries_no_clinical_text(referral, neurologist, colleague):
    from carepath.models import Delivery

    notes.note_add(referral_id=referral.pk, actor=neurologist, text="@dr_colleague the MRI shows a loop.")

    mail = Delivery.objects.get(to=colleague.email)
    assert "loop" not in mail.body and "CP-" in mail.subject


def test_a_username_inside_an_e_mail_address_is_not_a_mention(referral, neurologist, colleague):
    assert notes.mentioned_names("write to mum@dr_colleague.org, and @dr_neuro.") == ["dr_neuro"]
