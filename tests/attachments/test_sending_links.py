"""A clinician sends the family's upload link to a parent or carer, by their contact preference,
through the deliveries' sender (claimed once, retried, dead-lettered); the link leaves the message
rows once sent; the timeline, the audit and the API say who it went to and how
(docs/design.md, "Attachments"; docs/decisions.md, "Upload links sent to the family")."""

import re

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from carepath.api.tokens import token_issue
from carepath.models import AuditLog, CaseEvent, Delivery
from carepath.notify import delivery
from referrals.attachments import services
from referrals.attachments.models import Attachment, UploadLink
from referrals.models import Guardian
from tests.attachments.conftest import upload
from tests.factories import make_patient

pytestmark = pytest.mark.django_db
BASE = "https://carepath.example.org"
LINK = re.compile(re.escape(BASE) + r"(/family/upload/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _public_address(settings):
    settings.CAREPATH_BASE_URL = BASE
    settings.CAREPATH_CLINIC_NAME = "Riverside Children's Neurology"


def carer(referral, preference="both", **fields) -> Guardian:
    values = {"name": "Jo Hale", "relationship": "father", "phone": "+447700900456", "email": "jo@example.org"}
    return referral.patient.guardians.create(**{**values, **fields, "contact_preference": preference})


def send_by_form(client, user, referral, guardian_id, capture):
    client.force_login(user)
    with capture(execute=True):  # the deliveries are queued once the request's writes commit
        return client.post(
            f"/cases/{referral.pk}/upload-links/", {"guardian": str(guardian_id), "send": "1"}, follow=True
        )


def family_path(text: str) -> str:
    return LINK.search(text).group(1)


def test_sent_by_email_the_link_opens_the_family_page_and_leaves_the_database(
    client, neurologist, referral, django_capture_on_commit_callbacks
):
    jo = carer(referral, preference="email")
    page = send_by_form(client, neurologist, referral, jo.pk, django_capture_on_commit_callbacks)
    assert "Upload link sent to Jo Hale by e-mail" in page.content.decode()
    (message,) = mail.outbox
    assert message.to == ["jo@example.org"] and "Riverside Children's Neurology" in message.body
    assert "works once" in message.body and "twitching" in message.body
    expires = timezone.localtime(UploadLink.objects.get().expires_at)
    assert f"{expires:%A} {expires.day} {expires:%B %Y}" in message.body
    for private in (referral.reason, "spasm", "hemifacial", referral.patient.family_name, referral.reference):
        assert private.lower() not in (message.subject + message.body).lower()
    client.logout()
    opened = client.get(family_path(message.body))
    assert opened.status_code == 200 and "Send a video of Alex" in opened.content.decode()
    (row,) = Delivery.objects.all()
    assert row.state == "sent" and "/family/upload/" not in row.body and delivery.FORGOTTEN in row.body
    assert "works once" in row.body  # what was said stays; only the link is gone


def test_sent_by_sms_to_a_carer_who_prefers_texts(
    client, pediatrician, referral, sms, django_capture_on_commit_callbacks
):
    jo = carer(referral, preference="sms")
    send_by_form(client, pediatrician, referral, jo.pk, django_capture_on_commit_callbacks)
    (text,) = sms
    assert text["to"] == "+447700900456" and "Riverside Children's Neurology" in text["body"]
    assert "works once" in text["body"] and not mail.outbox
    assert client.get(family_path(text["body"])).status_code == 200
    assert list(Delivery.objects.values_list("channel", "state")) == [("sms", "sent")]


def test_both_channels_by_default_to_the_first_with_parental_responsibility(neurologist, referral, sms):
    sent = services.upload_link_send(referral_id=referral.pk, actor=neurologist)
    assert sent.guardian.name == "Sam Carer" and sorted(sent.channels) == ["email", "sms"]
    assert Delivery.objects.filter(guardian=sent.guardian).count() == 2


def test_a_guardian_of_another_child_is_refused(client, neurologist, pediatrician, referral):
    stranger = make_patient(pediatrician, mrn="MRN-OTHER", given_name="Kim").guardians.get()
    client.force_login(neurologist)
    page = client.post(f"/cases/{referral.pk}/upload-links/", {"guardian": str(stranger.pk), "send": "1"})
    assert page.status_code == 400 and "not one of the child&#x27;s parents or carers" in page.content.decode()
    assert not UploadLink.objects.exists() and not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("preference", "fields", "why"),
    [("both", {"phone": "", "email": ""}, "has no phone number or e-mail"), ("none", {}, "asked not to be contacted")],
)
def test_a_guardian_we_cannot_reach_is_a_form_error_and_nothing_is_made(
    client, neurologist, referral, preference, fields, why
):
    jo = carer(referral, preference=preference, **fields)
    client.force_login(neurologist)
    page = client.post(f"/cases/{referral.pk}/upload-links/", {"guardian": str(jo.pk), "send": "1"})
    html = page.content.decode()
    assert page.status_code == 422 and f"Jo Hale {why}" in html and 'aria-describedby="link-guardian-err"' in html
    assert 'href="#link-guardian-1"' in html  # the error summary leads to the choice
    assert (
        not UploadLink.objects.exists()
        and not Delivery.objects.exists()
        and not CaseEvent.objects.filter(transition="upload_link_sent").exists()
    )
    assert not AuditLog.objects.filter(object_type="referrals.uploadlink").exists()


def test_a_failed_send_is_retried_and_delivers_once(neurologist, referral, monkeypatch):
    carer(referral, preference="email")
    jo = referral.patient.guardians.get(name="Jo Hale")
    services.upload_link_send(referral_id=referral.pk, actor=neurologist, guardian=jo.pk)
    (row,) = Delivery.objects.all()
    real_send, calls = delivery.send, []

    def fails_first(row, connection=None):
        calls.append(row.pk)
        if len(calls) == 1:
            raise OSError("mail server down")
        real_send(row, connection)

    monkeypatch.setattr(delivery, "send", fails_first)
    assert delivery.deliver([row.pk])["failed"] == 1
    row.refresh_from_db()
    assert row.state == "failed" and "/family/upload/" in row.body  # kept until it has gone: the retry needs it
    assert delivery.deliver([row.pk])["sent"] == 1
    assert delivery.deliver([row.pk])["skipped"] == 1  # a redelivered task sends nothing more
    assert len(mail.outbox) == 1 and "/family/upload/" not in Delivery.objects.get().body


def test_using_the_link_takes_it_out_of_messages_not_sent_yet(neurologist, referral, sms, webm):
    import io

    services.upload_link_send(referral_id=referral.pk, actor=neurologist)  # not delivered yet
    token = family_path(Delivery.objects.get(channel="email").body).split("/")[-2]
    services.family_upload(token=token, file=io.BytesIO(webm))
    rows = Delivery.objects.all()
    assert {r.state for r in rows} == {"skipped"} and all("/family/upload/" not in r.body for r in rows)
    assert Attachment.objects.get().from_family


def test_the_timeline_and_the_audit_say_who_sent_it_to_whom_and_how(
    client, neurologist, referral, sms, django_capture_on_commit_callbacks
):
    jo = carer(referral, preference="sms")
    send_by_form(client, neurologist, referral, jo.pk, django_capture_on_commit_callbacks)
    case = client.get(f"/cases/{referral.pk}/").content.decode()
    assert "Upload link sent to Jo Hale by SMS" in case
    row = AuditLog.objects.get(object_type="referrals.uploadlink", changes__channels=["sms"])
    assert row.actor == neurologist and row.object_id == str(UploadLink.objects.get().pk)
    assert row.changes["guardian"] == jo.pk and row.patient_id == referral.patient_id


def test_the_form_offers_each_carer_by_name_how_it_would_go_and_the_copy(client, neurologist, referral):
    jo = carer(referral, preference="none")
    client.force_login(neurologist)
    case = client.get(f"/cases/{referral.pk}/").content.decode()
    assert "Sam Carer (mother), " in case and "by SMS to +447700900123 and e-mail to sam.carer@example.org" in case
    assert "Jo Hale (father), " in case and "cannot be sent: asked not to be contacted" in case
    radios = dict(re.findall(r'<input type="radio" id="link-guardian-\d" name="guardian" value="(\d+)"([^>]*)>', case))
    sam = str(referral.patient.guardians.get(name="Sam Carer").pk)
    assert "checked" in radios[sam] and "disabled" in radios[str(jo.pk)]  # the one who may not be reached
    assert "Send the link" in case and "Show the link to copy instead" in case
    assert "Riverside Children&#x27;s Neurology" in case and "(the link)" in case  # what the family receives


def test_send_with_nobody_chosen_asks_who_and_makes_nothing(client, neurologist, referral):
    client.force_login(neurologist)
    page = client.post(f"/cases/{referral.pk}/upload-links/", {"send": "1"})
    assert page.status_code == 400 and "Choose who to send the link to" in page.content.decode()
    assert not UploadLink.objects.exists()


def test_copy_shows_the_link_and_sends_nothing(client, neurologist, referral):
    client.force_login(neurologist)
    page = client.post(f"/cases/{referral.pk}/upload-links/", {"guardian": "1", "copy": "1"})
    assert page.status_code == 200 and 'id="upload-link"' in page.content.decode()
    assert not Delivery.objects.exists() and UploadLink.objects.count() == 1


# --- the API -------------------------------------------------------------------------------------------
def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user, name='test')[1]}")
    return client


def test_api_round_trip_sent_then_used_by_the_family(neurologist, referral, webm, django_capture_on_commit_callbacks):
    jo = carer(referral, preference="email")
    with django_capture_on_commit_callbacks(execute=True):
        made = api(neurologist).post(
            f"/api/v1/referrals/{referral.pk}/upload-links/", {"guardian": jo.pk}, format="json"
        )
    assert made.status_code == 201, made.content
    assert made.json()["url"] is None and made.json()["sent_to"] == {
        "guardian": jo.pk,
        "name": "Jo Hale",
        "channels": ["email"],
    }
    path = family_path(mail.outbox[0].body).replace("/family/upload/", "/api/v1/family-uploads/")
    assert APIClient().post(path, {"file": upload("v.webm", webm)}, format="multipart").status_code == 201
    events = api(neurologist).get(f"/api/v1/referrals/{referral.pk}/events/").json()
    assert "Upload link sent to Jo Hale by e-mail" in [e["data"].get("label") for e in events]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"guardian": "x"}, 400),
        ({"guardian": 999999}, 400),
        ({"guardian": "JO", "send": False}, 400),
        ({"guardian": "JO-NO-CONTACT"}, 422),
    ],
)
def test_api_bad_input_is_problem_json_naming_the_field(neurologist, referral, body, status):
    jo, unreachable = carer(referral), carer(referral, phone="", email="", name="Lee Hale")
    ids = {"JO": jo.pk, "JO-NO-CONTACT": unreachable.pk}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    response = api(neurologist).post(f"/api/v1/referrals/{referral.pk}/upload-links/", body, format="json")
    assert response.status_code == status and response["Content-Type"] == "application/problem+json"
    assert "guardian" in response.json()["errors"]
    assert not UploadLink.objects.exists() and not Delivery.objects.exists()


def test_api_without_guardian_or_send_still_returns_the_link_to_copy(neurologist, referral):
    made = api(neurologist).post(f"/api/v1/referrals/{referral.pk}/upload-links/", {}, format="json")
    assert made.status_code == 201 and "/family/upload/" in made.json()["url"] and made.json()["sent_to"] is None
    assert not Delivery.objects.exists()


def test_the_case_page_lists_the_links_waiting_for_the_family_and_their_messages(
    client, neurologist, referral, sms, webm
):
    import io

    services.upload_link_send(referral_id=referral.pk, actor=neurologist)  # queued, not delivered yet
    _, token = services.upload_link_create(referral_id=referral.pk, actor=neurologist)
    client.force_login(neurologist)
    section = client.get(f"/cases/{referral.pk}/").content.decode()
    assert "sent to Sam Carer by SMS (being sent) and e-mail (being sent)" in section and "shown to copy" in section
    delivery.deliver(list(Delivery.objects.values_list("pk", flat=True)))
    assert "by SMS (sent) and e-mail (sent)" in client.get(f"/cases/{referral.pk}/").content.decode()
    services.family_upload(token=token, file=io.BytesIO(webm))
    assert "shown to copy" not in client.get(f"/cases/{referral.pk}/").content.decode()  # used: no longer waiting


def test_api_a_retried_send_with_its_idempotency_key_sends_once(neurologist, referral):
    client, path = api(neurologist), f"/api/v1/referrals/{referral.pk}/upload-links/"
    first = client.post(path, {"send": True}, format="json", HTTP_IDEMPOTENCY_KEY="ask-once")
    again = client.post(path, {"send": True}, format="json", HTTP_IDEMPOTENCY_KEY="ask-once")
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and UploadLink.objects.count() == 1 and Delivery.objects.count() == 2


def test_a_double_click_on_send_sends_the_family_one_link(
    client, neurologist, referral, django_capture_on_commit_callbacks
):
    client.force_login(neurologist)
    form = {"guardian": str(referral.patient.guardians.get().pk), "send": "1", "newest_seen": "0"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cases/{referral.pk}/upload-links/", form)
        again = client.post(f"/cases/{referral.pk}/upload-links/", form, follow=True)
    assert "A link was made for this family a moment ago" in again.content.decode()
    assert UploadLink.objects.count() == 1 and len(mail.outbox) == 1
    drawn = client.get(f"/cases/{referral.pk}/").content.decode()
    assert f'name="newest_seen" value="{UploadLink.objects.get().pk}"' in drawn  # the next form may send again


def test_a_link_sent_to_the_wrong_carer_is_withdrawn_before_it_goes_and_never_works(
    client, neurologist, referral, django_capture_on_commit_callbacks
):
    jo = carer(referral, preference="email")
    client.force_login(neurologist)
    client.post(f"/cases/{referral.pk}/upload-links/", {"guardian": str(jo.pk), "send": "1"})  # not sent yet
    link = UploadLink.objects.get()
    (row,) = Delivery.objects.all()
    body = row.body

    page = client.post(f"/cases/{referral.pk}/upload-links/{link.pk}/withdraw/", follow=True)

    assert "The link is withdrawn" in page.content.decode() and "Waiting for the family" not in page.content.decode()
    row.refresh_from_db()
    assert row.state == "skipped" and "/family/upload/" not in row.body
    with django_capture_on_commit_callbacks(execute=True):
        delivery.deliver([row.pk])
    assert not mail.outbox  # the message never goes
    client.logout()
    assert client.get(family_path(body)).status_code == 410
    assert CaseEvent.objects.filter(referral=referral, transition="upload_link_withdrawn").exists()
    assert AuditLog.objects.filter(object_type="referrals.uploadlink", changes__withdrawn=True).exists()


def test_only_who_may_make_links_may_withdraw_them(client, coordinator, neurologist, referral, pathway):
    link, _ = services.upload_link_create(referral_id=referral.pk, actor=neurologist)
    other = pathway.submitted()
    client.force_login(neurologist)
    assert client.post(f"/cases/{other.pk}/upload-links/{link.pk}/withdraw/").status_code == 404  # not this case's
    client.force_login(coordinator)
    assert client.post(f"/cases/{referral.pk}/upload-links/{link.pk}/withdraw/").status_code in (403, 404)
    link.refresh_from_db()
    assert link.expires_at > timezone.now()
