"""A critical or urgent result is acknowledged by one service, `imaging.reports.report_acknowledge`,
whichever way a neurologist does it: the API's `reports/{id}/acknowledge/`, the case page's button,
and reading the result's alert on the Notifications page or through the API."""

from unittest import mock

import pytest
from django.urls import reverse

from carepath.models import WorkItemKind
from imaging import reports
from tests import factories


def _api_report(api, client, neurologist, case, report, note):
    api(neurologist).post(f"/api/v1/reports/{report.pk}/acknowledge/")


def _case_page(api, client, neurologist, case, report, note):
    client.force_login(neurologist)
    client.post(reverse("case", args=[case.pk]), {"machine": "report_ack", "object": report.pk})


def _notifications_page(api, client, neurologist, case, report, note):
    client.force_login(neurologist)
    client.post(reverse("notification_acknowledge", args=[note.pk]))


def _api_notification(api, client, neurologist, case, report, note):
    api(neurologist).post(f"/api/v1/notifications/{note.pk}/acknowledge/")


ROUTES = [_api_report, _case_page, _notifications_page, _api_notification]


@pytest.mark.parametrize("route", ROUTES, ids=[r.__name__.strip("_") for r in ROUTES])
def test_every_way_of_acknowledging_a_result_calls_the_one_service(route, api, client, pathway, neurologist):
    case = pathway.results_review(category="critical")
    report = pathway.mri(case).report
    note = factories.result_alert(neurologist, case)

    with mock.patch.object(reports, "report_acknowledge", wraps=reports.report_acknowledge) as acknowledge:
        route(api, client, neurologist, case, report, note)

    acknowledge.assert_called_once_with(report_id=report.pk, actor=neurologist)
    report.refresh_from_db()
    assert report.acknowledged_by == neurologist


def test_reading_the_alert_on_the_notifications_page_acknowledges_the_report(client, pathway, neurologist):
    case = pathway.results_review(category="critical")
    note = factories.result_alert(neurologist, case)
    client.force_login(neurologist)

    client.post(reverse("notification_acknowledge", args=[note.pk]))

    report = pathway.mri(case).report
    report.refresh_from_db()
    item = case.work_items.get(kind=WorkItemKind.CRITICAL_RESULT_ACK)
    assert (report.acknowledged_by, item.status) == (neurologist, "done")
