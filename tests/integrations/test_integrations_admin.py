"""The admin pages an integration admin uses: endpoints (add one, with its event types checked),
the outbound deliveries (with their filter of dead letters) and the FHIR subscriptions."""

import pytest
from django.test import Client

from carepath.pathway.roles import Role
from integrations.models import WebhookEndpoint
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(groups, settings):
    settings.SECURE_SSL_REDIRECT = False
    client = Client()
    client.force_login(factories.UserFactory(role=Role.ADMIN, username="ops", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "page",
    [
        "/admin/integrations/webhookendpoint/",
        "/admin/integrations/webhookendpoint/add/",
        "/admin/integrations/outbounddelivery/?state__exact=dead",
        "/admin/integrations/event/",
        "/admin/integrations/fhirsubscription/",
    ],
)
def test_the_pages_open(ops, page):
    assert ops.get(page).status_code == 200


def test_an_endpoint_added_in_the_admin_keeps_known_event_types_only(ops):
    form = {"name": "EHR", "url": "https://ehr.example.org/hooks", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}

    refused = ops.post("/admin/integrations/webhookendpoint/add/", {**form, "event_types": ["x.y"], "active": "on"})
    added = ops.post(
        "/admin/integrations/webhookendpoint/add/", {**form, "event_types": ["report.signed"], "active": "on"}
    )

    assert refused.status_code == 200 and "x.y is not one of the available choices" in refused.content.decode()
    assert added.status_code == 302
    assert WebhookEndpoint.objects.get().event_types == ["report.signed"]
