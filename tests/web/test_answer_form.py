"""The referrer's answer to neurology's question (the case page's "Answer and resubmit"): the form
quotes the question and starts from what the referrer sent, so answering alone changes nothing else."""

import re

import pytest

from referrals import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(referral, neurologist):
    referral.frequency, referral.spread, referral.clinical_notes = "daily", True, "Worse when tired."
    referral.save(update_fields=["frequency", "spread", "clinical_notes"])
    services.referral_return_to_referrer(referral_id=referral.pk, actor=neurologist, reason="Present in sleep?")
    referral.refresh_from_db()
    return referral


def answer_form(asked, *, muscles: list[str]) -> dict:
    """The referrer's answer as a browser posts it, the details as sent."""
    return {
        "machine": "referral",
        "transition": "resubmit",
        "version": asked.version,
        "response": "Yes, also in sleep.",
        "reason": asked.reason,
        "symptom_onset": asked.symptom_onset.isoformat(),
        "side": asked.side,
        "muscles": muscles,
        "frequency": asked.frequency,
        "requested_priority": asked.requested_priority,
    }


def test_the_answer_form_quotes_neurologys_question_and_starts_from_what_was_sent(signed_in, asked, pediatrician):
    page = signed_in(pediatrician).get(f"/cases/{asked.pk}/").content.decode()
    form = page[page.index('name="transition" value="resubmit"') :]
    assert "Neurology asked:</strong> Present in sleep?" in page
    assert '<option value="daily" selected>' in form
    assert "Worse when tired.</textarea>" in form
    assert f'value="{asked.symptom_onset.isoformat()}"' in form


def test_answering_the_question_as_the_form_is_drawn_keeps_the_other_details(signed_in, asked, pediatrician):
    client = signed_in(pediatrician)
    page = client.get(f"/cases/{asked.pk}/").content.decode()
    assert 'name="spread" value="true" checked' in page[page.index('value="resubmit"') :]
    post = {
        **answer_form(asked, muscles=asked.muscles),
        "object": asked.pk,
        "spread": ["false", "true"],  # the hidden "false" and the ticked box, as a browser sends them
        "requested_priority_reason": "",
        "clinical_notes": "Worse when tired.",
    }
    assert client.post(f"/cases/{asked.pk}/", post).status_code in (200, 302)
    asked.refresh_from_db()
    assert asked.state == "submitted" and asked.referrer_response == "Yes, also in sleep."
    assert (asked.frequency, asked.spread, asked.clinical_notes) == ("daily", True, "Worse when tired.")


def test_answering_keeps_which_muscle_was_affected_first(signed_in, asked, pediatrician):
    """A browser posts ticked boxes in page order: the form lists the referral's muscles first, in
    their order, so an answer does not turn a cheek-first (atypical) spasm into an eye-first one."""
    type(asked).objects.filter(pk=asked.pk).update(muscles=["buccinator", "orbicularis_oculi"])
    client = signed_in(pediatrician)
    page = client.get(f"/cases/{asked.pk}/").content.decode()
    form = page[page.index('name="transition" value="resubmit"') :]
    ticked = re.findall(r'name="muscles" value="(\w+)"[^>]*checked', form)
    assert ticked == ["buccinator", "orbicularis_oculi"]  # in page order, as the browser will post them

    asked.refresh_from_db()
    assert client.post(f"/cases/{asked.pk}/", answer_form(asked, muscles=ticked)).status_code in (200, 302)
    asked.refresh_from_db()
    assert asked.state == "submitted" and asked.muscles == ["buccinator", "orbicularis_oculi"]
