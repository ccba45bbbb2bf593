"""An unacknowledged critical or urgent MRI result blocks concluding and closing the case, and one
acknowledgement service does the same from the case page, the API and reading the alert
(docs/decisions.md, "An unacknowledged critical result blocks the end of the case")."""

import pytest
from django.urls import reverse
from django.utils import timezone

from carepath.models import WorkItemKind, WorkItemStatus
from carepath.pathway.errors import Blocked
from imaging import reports as imaging_reports
from referrals import services
from referrals.models import Referral
from tests import factories
from tests.api.conftest import transition

pytestmark = pytest.mark.django_db


def report_of(pathway, referral):
    return pathway.mri(referral).report


# --- service ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("category", ["critical", "urgent"])
def test_a_case_with_an_unacknowledged_result_cannot_be_concluded(pathway, neurologist, category):
    referral = pathway.results_review(category=category)
    with pytest.raises(Blocked, match="acknowledge"):
        services.referral_conclude(referral_id=referral.pk, actor=neurologist, **factories.CONCLUSION)
    referral.refresh_from_db()
    assert referral.state == "results_review" and not hasattr(referral, "outcome")


def test_once_acknowledged_the_case_concludes(pathway, neurologist):
    referral = pathway.results_review(category="critical")
    imaging_reports.report_acknowledge(report_id=report_of(pathway, referral).pk, actor=neurologist)
    services.referral_conclude(referral_id=referral.pk, actor=neurologist, **factories.CONCLUSION)
    assert Referral.objects.get(pk=referral.pk).state == "concluded"


def test_a_routine_result_needs_no_acknowledgement_to_conclude(pathway, neurologist):
    referral = pathway.concluded()
    assert referral.state == "concluded"


def test_a_concluded_case_whose_result_is_unacknowledged_cannot_be_closed_by_the_referrer_or_the_timer(
    pathway, pediatrician, system_user
):
    referral = pathway.results_review(category="critical")
    report = report_of(pathway, referral)
    imaging_reports.report_acknowledge(report_id=report.pk, actor=pathway.neuro)
    services.referral_conclude(referral_id=referral.pk, actor=pathway.neuro, **factories.CONCLUSION)
    type(report).objects.filter(pk=report.pk).update(acknowledged_at=None, acknowledged_by=None)  # say, amended
    with pytest.raises(Blocked):
        services.referral_acknowledge(referral_id=referral.pk, actor=pediatrician)
    later = timezone.now() + timezone.timedelta(days=60)
    with pytest.raises(Blocked):
        services.referral_auto_close(referral_id=referral.pk, actor=system_user, now=later)
    assert Referral.objects.get(pk=referral.pk).state == "concluded"


def test_reading_the_alert_acknowledges_the_result_for_neurology_only(pathway, neurologist, coordinator):
    from carepath.notify import inbox

    referral = pathway.results_review(category="critical")
    inbox.notification_acknowledge(notification_id=factories.result_alert(coordinator, referral).pk, actor=coordinator)
    assert report_of(pathway, referral).acknowledged_at is None  # read, but not theirs to acknowledge
    inbox.notification_acknowledge(notification_id=factories.result_alert(neurologist, referral).pk, actor=neurologist)
    report = report_of(pathway, referral)
    assert report.acknowledged_by == neurologist
    assert referral.work_items.get(kind=WorkItemKind.CRITICAL_RESULT_ACK).status == WorkItemStatus.DONE


def test_acknowledging_the_result_marks_the_acknowledgers_alerts_read(pathway, neurologist):
    referral = pathway.results_review(category="critical")
    note = factories.result_alert(neurologist, referral)
    imaging_reports.report_acknowledge(report_id=report_of(pathway, referral).pk, actor=neurologist)
    note.refresh_from_db()
    assert note.acknowledged_at is not None


# --- API -------------------------------------------------------------------------------------------
def test_the_api_refuses_to_conclude_with_409_until_the_result_is_acknowledged(api, pathway, neurologist):
    referral = pathway.results_review(category="urgent")
    client = api(neurologist)
    refused = transition(client, "referrals", referral.pk, "conclude", factories.CONCLUSION)
    assert refused.status_code == 409 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/blocked") and "acknowledge" in refused.json()["detail"]

    report = report_of(pathway, referral)
    acknowledged = client.post(f"/api/v1/reports/{report.pk}/acknowledge/")
    assert acknowledged.status_code == 200 and acknowledged.json()["acknowledged_by"] == neurologist.pk
    assert transition(client, "referrals", referral.pk, "conclude", factories.CONCLUSION).status_code == 200


def test_only_neurology_acknowledges_through_the_api(api, pathway, coordinator, pediatrician):
    referral = pathway.results_review(category="critical")
    report = report_of(pathway, referral)
    assert api(coordinator).post(f"/api/v1/reports/{report.pk}/acknowledge/").status_code in (403, 404)
    assert api(pediatrician).post(f"/api/v1/reports/{report.pk}/acknowledge/").status_code in (403, 404)
    assert report_of(pathway, referral).acknowledged_at is None


def test_marking_the_alert_read_on_the_web_acknowledges_the_result_the_api_shows(api, signed_in, pathway, neurologist):
    referral = pathway.results_review(category="critical")
    note = factories.result_alert(neurologist, referral)
    client = api(neurologist)
    assert [r["id"] for r in client.get("/api/v1/reports/?acknowledged=false").json()["results"]]
    before = client.get(f"/api/v1/referrals/{referral.pk}/").json()["deadlines"]
    assert WorkItemKind.CRITICAL_RESULT_ACK in [d["kind"] for d in before]

    signed_in(neurologist).post(reverse("notification_acknowledge", args=[note.pk]))

    assert client.get("/api/v1/reports/?acknowledged=false").json()["results"] == []
    deadlines = client.get(f"/api/v1/referrals/{referral.pk}/").json()["deadlines"]
    assert WorkItemKind.CRITICAL_RESULT_ACK not in [d["kind"] for d in deadlines]


def test_acknowledging_the_alert_in_the_api_takes_the_banner_off_the_case_page(api, signed_in, pathway, neurologist):
    referral = pathway.results_review(category="critical")
    note = factories.result_alert(neurologist, referral)
    page = signed_in(neurologist)
    assert "Critical MRI result" in page.get(reverse("case", args=[referral.pk])).content.decode()

    api(neurologist).post(f"/api/v1/notifications/{note.pk}/acknowledge/")

    assert "Critical MRI result" not in page.get(reverse("case", args=[referral.pk])).content.decode()


# --- page ------------------------------------------------------------------------------------------
def test_the_case_page_refuses_to_conclude_says_why_and_keeps_the_letter(signed_in, pathway, neurologist):
    referral = pathway.results_review(category="critical")
    post = {"machine": "referral", "transition": "conclude", "version": referral.version, **factories.CONCLUSION}
    post["letter"] = "Dear Dr Jones, my own words."
    response = signed_in(neurologist).post(reverse("case", args=[referral.pk]), post)
    html = response.content.decode()
    assert response.status_code == 409
    assert "nobody has acknowledged" in html and "Dear Dr Jones, my own words." in html
    assert Referral.objects.get(pk=referral.pk).state == "results_review"
