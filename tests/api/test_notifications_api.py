"""The caller's notifications; acknowledging a critical-result alert acknowledges the report."""

from django.utils import timezone

from carepath.models import Notification, WorkItemKind
from tests.factories import make_notification


def test_i_see_only_my_notifications(api, referral, neurologist, pediatrician):
    mine = make_notification(neurologist, referral=referral)
    make_notification(pediatrician, referral=referral, key="n2")

    results = api(neurologist).get("/api/v1/notifications/").json()["results"]

    assert [n["id"] for n in results] == [mine.pk]


def test_acknowledging_my_notification_marks_it_read(api, referral, neurologist):
    note = make_notification(neurologist, referral=referral)

    response = api(neurologist).post(f"/api/v1/notifications/{note.pk}/acknowledge/")

    assert response.status_code == 200
    assert response.json()["acknowledged_at"] is not None


def test_someone_elses_notification_is_404(api, referral, neurologist, pediatrician):
    note = make_notification(pediatrician, referral=referral)

    assert api(neurologist).post(f"/api/v1/notifications/{note.pk}/acknowledge/").status_code == 404


def test_an_outsider_sees_no_notifications(api, referral, neurologist, outsider):
    make_notification(neurologist, referral=referral)

    assert api(outsider).get("/api/v1/notifications/").json()["results"] == []


def test_acknowledging_a_critical_result_alert_acknowledges_the_report(api, pathway, neurologist):
    case = pathway.results_review(category="critical")
    item = case.work_items.get(kind=WorkItemKind.CRITICAL_RESULT_ACK)
    note = make_notification(neurologist, referral=case, work_item=item)

    api(neurologist).post(f"/api/v1/notifications/{note.pk}/acknowledge/")

    report = pathway.mri(case).report
    report.refresh_from_db()
    item.refresh_from_db()
    assert (report.acknowledged_by, item.status) == (neurologist, "done")


def test_the_unread_filter(api, referral, neurologist):
    make_notification(neurologist, referral=referral)
    read = make_notification(neurologist, referral=referral, key="n2")
    Notification.objects.filter(pk=read.pk).update(acknowledged_at=timezone.now())

    results = api(neurologist).get("/api/v1/notifications/?acknowledged=false").json()["results"]

    assert read.pk not in [n["id"] for n in results] and len(results) == 1


def test_the_referrer_reads_a_decline_through_the_api_and_nobody_else_does(
    api, referral, pediatrician, other_pediatrician, neurologist
):
    from referrals import services

    services.referral_decline(referral_id=referral.pk, actor=neurologist, reason="Tic.", advice="Reassure.")

    (mine,) = api(pediatrician).get("/api/v1/notifications/").json()["results"]
    assert mine["kind"] == "referrer_declined" and "Tic." in mine["body"] and mine["referral"] == referral.pk
    for someone in (other_pediatrician, neurologist):
        kinds = [n["kind"] for n in api(someone).get("/api/v1/notifications/").json()["results"]]
        assert "referrer_declined" not in kinds
