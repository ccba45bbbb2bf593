"""The MDT and follow-up pages, as neurology, neurosurgery and roles that are refused."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from carepath.models import AuditLog
from referrals.followup.models import FollowUpVisit, Treatment
from referrals.mdt.models import MDTCase, MDTDecision, MDTMeeting

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.force_login(user)
    return client


def test_neurology_plans_a_meeting_from_the_meetings_page(client, neurologist, neurosurgeon, site):
    page = _client(client, neurologist)
    starts = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = page.post(
        reverse("mdt_meetings"), {"starts_at": starts, "site": site.pk, "attendees": [neurologist.pk, neurosurgeon.pk]}
    )
    meeting = MDTMeeting.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("mdt_meeting", args=[meeting.pk])
    assert "Children&#x27;s Hospital" in page.get(reverse("mdt_meetings")).content.decode()


def test_a_meeting_without_attendees_is_refused_beside_the_field(client, neurologist, site):
    response = _client(client, neurologist).post(reverse("mdt_meetings"), {"starts_at": "", "site": site.pk})
    assert response.status_code == 400 and not MDTMeeting.objects.exists()
    assert "This field is required." in response.content.decode()


def test_neurology_adds_a_case_by_its_reference_with_a_question(client, neurologist, meeting, reviewed):
    page = _client(client, neurologist)
    response = page.post(
        reverse("mdt_meeting", args=[meeting.pk]),
        {"action": "add", "case": reviewed.reference, "question": "Surgery or toxin?"},
    )
    assert response.status_code == 302
    assert MDTCase.objects.get(meeting=meeting).question == "Surgery or toxin?"
    body = page.get(reverse("mdt_meeting", args=[meeting.pk])).content.decode()
    assert reviewed.reference in body and "Record and sign the decision" in body


def test_an_attendee_signs_a_decision_on_the_meeting_page_and_sees_it_printed(client, neurologist, meeting, on_list):
    page = _client(client, neurologist)
    response = page.post(
        reverse("mdt_meeting", args=[meeting.pk]),
        {"action": "sign", "entry": on_list.pk, "outcome": "botulinum_toxin", "rationale": "Mild compression"},
    )
    assert response.status_code == 302 and MDTDecision.objects.get().signed_by == neurologist
    printed = page.get(reverse("mdt_meeting_print", args=[meeting.pk]))
    text = printed.content.decode()
    assert "Botulinum toxin" in text and "Compression on MRI: MVD or toxin?" in text and "<form" not in text
    assert AuditLog.objects.filter(changes__query__startswith="print: MDT list").exists()


def test_other_without_its_words_is_refused_on_the_page(client, neurologist, meeting, on_list):
    response = _client(client, neurologist).post(
        reverse("mdt_meeting", args=[meeting.pk]), {"action": "sign", "entry": on_list.pk, "outcome": "other"}
    )
    assert response.status_code == 400 and "Say what the meeting decided." in response.content.decode()


def test_a_second_decision_without_correction_is_refused_with_the_reason(client, neurologist, meeting, on_list):
    page = _client(client, neurologist)
    url = reverse("mdt_meeting", args=[meeting.pk])
    page.post(url, {"action": "sign", "entry": on_list.pk, "outcome": "repeat_mri"})
    response = page.post(url, {"action": "sign", "entry": on_list.pk, "outcome": "botulinum_toxin", "corrects": ""})
    assert response.status_code == 409 and "sign a correction" in response.content.decode()


def test_roles_without_mdt_are_refused_with_a_clear_page(client, pediatrician, coordinator, meeting):
    for user in (pediatrician, coordinator):
        response = _client(client, user).get(reverse("mdt_meeting", args=[meeting.pk]))
        assert response.status_code == 403 and "MDT meetings are for neurology" in response.content.decode()


def test_a_neurosurgeon_sees_the_meeting_but_not_cases_outside_their_access(client, neurosurgeon, meeting, on_list):
    body = _client(client, neurosurgeon).get(reverse("mdt_meeting", args=[meeting.pk])).content.decode()
    assert on_list.referral.reference not in body and "1 more case on this list" in body
    assert "Add a case to the list" not in body


def test_the_case_page_records_a_treatment_and_a_visit(client, neurologist, reviewed):
    page = _client(client, neurologist)
    day = timezone.localdate().isoformat()
    response = page.post(
        reverse("case_treatment_new", args=[reviewed.pk]), {"kind": "botulinum_toxin", "treated_on": day}
    )
    assert response.status_code == 302 and Treatment.objects.get().treated_on.isoformat() == day
    body = page.get(reverse("case", args=[reviewed.pk])).content.decode()
    assert "Treatment and follow-up" in body and "Re-dose review" in body
    visit = FollowUpVisit.objects.get()
    page.post(reverse("follow_up_visit_record", args=[visit.pk]), {"attended": "true"})
    visit.refresh_from_db()
    assert visit.state == "attended"


def test_a_pediatrician_cannot_record_a_treatment(client, pediatrician, reviewed):
    day = timezone.localdate().isoformat()
    response = _client(client, pediatrician).post(
        reverse("case_treatment_new", args=[reviewed.pk]), {"kind": "botulinum_toxin", "treated_on": day}
    )
    assert response.status_code == 403 and not Treatment.objects.exists()


def test_a_treatment_without_its_date_is_refused_in_words_and_nothing_is_recorded(client, neurologist, reviewed):
    page = _client(client, neurologist)
    body = page.get(reverse("case", args=[reviewed.pk])).content.decode()
    assert 'name="treated_on" value=' not in body  # the date given is typed, never assumed

    response = page.post(reverse("case_treatment_new", args=[reviewed.pk]), {"kind": "botulinum_toxin"}, follow=True)

    assert "Date given: This field is required." in response.content.decode()
    assert "treated_on" not in " ".join(str(m) for m in response.context["messages"])
    assert not Treatment.objects.exists()
