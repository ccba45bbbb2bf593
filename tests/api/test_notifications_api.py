"""The caller's notifications; acknowledging a critical-result alert acknowledges the report."""

from django.utils import timezone

from carepath.models import Notification, WorkItemKind


def notify(user, *, referral=None, work_item=None, key="n1"):
    return Notification.objects.create(
        recipient=user,
        referral=referral,
        work_item=work_item,
        kind="test",
        subject="Something happened",
        dedupe_key=key,
        created_at=timezone.now(),
    )


def test_i_see_only_my_notifications(api, referral, neurologist, pediatrician):
    mine = notify(neurologist, referral=referral)
    notify(pediatrician, referral=referral, key="n2")

    results = api(neurologist).get("/api/v1/notifications/").json()["results"]

    assert [n["id"] for n in results] == [mine.pk]


def test_acknowledging_my_notification_marks_it_read(api, referral, neurologist):
    note = notify(neurologist, referral=referral)

    response = api(neurologist).post(f"/api/v1/notifications/{note.pk}/acknowledge/")

    assert response.status_code == 200
    assert response.json()["acknowledged_at"] is not None


def test_someone_elses_notification_is_404(api, referral, neurologist, pediatrician):
    note = notify(pediatrician, referral=referral)

    assert api(neurologist).post(f"/api/v1/notifications/{note.pk}/acknowledge/").status_code == 404


def test_an_outsider_sees_no_notifications(api, referral, neurologist, outsider):
    notify(neurologist, referral=referral)

    assert api(outsider).get("/api/v1/notifications/").json()["results"] == []


def test_acknowledging_a_critical_result_alert_acknowledges_the_report(api, pathway, neurologist):
    case = pathway.results_review(category="critical")
    item = case.work_items.get(kind=WorkItemKind.CRITICAL_RESULT_ACK)
    note = notify(neurologist, referral=case, work_item=item)

    api(neurologist).post(f"/api/v1/notifications/{note.pk}/acknowledge/")

    report = pathway.mri(case).report
    report.refresh_from_db()
    item.refresh_from_db()
    assert (report.acknowledged_by, item.status) == (neurologist, "done")


def test_the_unread_filter(api, referral, neurologist):
    notify(neurologist, referral=referral)
    read = notify(neurologist, referral=referral, key="n2")
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
