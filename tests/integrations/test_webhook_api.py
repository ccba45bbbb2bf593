"""/api/v1/webhook-endpoints/: admins register endpoints (the secret is shown once); nobody else may."""

import pytest

from carepath.models import AuditLog
from integrations.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

NEW = {"name": "EHR", "url": "https://ehr.example.org/hooks", "event_types": ["referral.transitioned", "report.signed"]}


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(api, admin_user):
    client = api(admin_user)

    created = client.post("/api/v1/webhook-endpoints/", NEW, format="json")

    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    assert created.json()["active"] is True
    shown = client.get(f"/api/v1/webhook-endpoints/{created.json()['id']}/").json()
    assert "secret" not in shown and shown["event_types"] == ["referral.transitioned", "report.signed"]
    assert AuditLog.objects.filter(action="create", object_type="integrations.webhookendpoint").exists()


def test_an_unknown_event_type_is_refused_by_name(api, admin_user):
    response = api(admin_user).post("/api/v1/webhook-endpoints/", {**NEW, "event_types": ["x.y"]}, format="json")

    assert response.status_code == 400
    assert "event_types" in response.json()["errors"]


def test_an_admin_turns_a_disabled_endpoint_back_on(api, admin_user):
    endpoint = WebhookEndpoint.objects.create(
        name="EHR", url=NEW["url"], event_types=NEW["event_types"], active=False, disabled_reason="410 Gone"
    )

    response = api(admin_user).patch(f"/api/v1/webhook-endpoints/{endpoint.pk}/", {"active": True}, format="json")

    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.disabled_reason == ""


@pytest.mark.parametrize("role", ["neurologist", "coordinator", "pediatrician"])
def test_clinicians_and_clients_may_not_see_or_register_endpoints(api, role, request):
    client = api(request.getfixturevalue(role))

    assert client.get("/api/v1/webhook-endpoints/").status_code == 403
    assert client.post("/api/v1/webhook-endpoints/", NEW, format="json").status_code == 403
