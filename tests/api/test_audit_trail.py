"""Audit completeness on the API (docs/security.md, "Audit trail"): each row names the client's
address, user agent and the bearer token; replays, denied attempts and failed token requests leave
rows."""

from rest_framework.test import APIClient

from carepath.api.tokens import token_issue
from carepath.models import AuditLog

CLIENT = {"HTTP_USER_AGENT": "EHR-connector/2.1", "REMOTE_ADDR": "198.51.100.20"}


def client_with_token(user):
    token, raw = token_issue(user=user, name="audit test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", **CLIENT)
    return client, token


def test_an_api_read_names_the_token_address_and_user_agent(pediatrician, referral):
    client, token = client_with_token(pediatrician)

    assert client.get(f"/api/v1/referrals/{referral.pk}/").status_code == 200
    client.get("/api/v1/referrals/")

    view = AuditLog.objects.filter(action="view", object_id=str(referral.pk)).latest("id")
    listed = AuditLog.objects.filter(action="list").latest("id")
    for row in (view, listed):
        assert (row.token_id, row.address, row.user_agent, row.channel) == (
            token.pk,
            "198.51.100.20",
            "EHR-connector/2.1",
            "api",
        )
    assert view.patient_id == referral.patient_id


def test_an_api_write_names_the_token(neurologist, referral):
    client, token = client_with_token(neurologist)

    client.post(
        f"/api/v1/referrals/{referral.pk}/transitions/",
        {"transition": "triage", "data": {"priority": "urgent"}},
        format="json",
    )

    assert AuditLog.objects.filter(action="transition").latest("id").token_id == token.pk


def test_a_session_call_to_the_api_has_no_token(client, pediatrician, referral):
    client.force_login(pediatrician)
    client.get(f"/api/v1/referrals/{referral.pk}/", **CLIENT)
    assert AuditLog.objects.filter(action="view").latest("id").token_id is None


def test_an_idempotency_key_replay_is_audited(neurologist, referral):
    client, token = client_with_token(neurologist)
    url, body = (
        f"/api/v1/referrals/{referral.pk}/transitions/",
        {"transition": "triage", "data": {"priority": "urgent"}},
    )
    client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert again["Idempotent-Replayed"] == "true"
    row = AuditLog.objects.filter(action="replay").get()
    assert (row.actor, row.token_id, row.patient_id, row.changes["path"]) == (
        neurologist,
        token.pk,
        referral.patient_id,
        url,
    )


def test_an_outsiders_api_attempt_on_a_case_is_audited(other_pediatrician, referral):
    client, token = client_with_token(other_pediatrician)

    assert client.get(f"/api/v1/referrals/{referral.pk}/").status_code == 404

    row = AuditLog.objects.filter(action="denied").get()
    assert (row.actor, row.object_type, row.patient_id, row.token_id) == (
        other_pediatrician,
        "referrals.referral",
        referral.patient_id,
        token.pk,
    )


def test_a_refused_api_transition_is_audited(pediatrician, referral):
    client, _ = client_with_token(pediatrician)

    response = client.post(
        f"/api/v1/referrals/{referral.pk}/transitions/",
        {"transition": "triage", "data": {"priority": "urgent"}},
        format="json",
    )

    assert response.status_code == 403
    assert AuditLog.objects.filter(action="denied", patient_id=referral.patient_id).exists()


def test_a_failed_token_request_is_audited(pediatrician):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "dr_ped", "password": "wrong"}, format="json", **CLIENT
    )

    assert response.status_code == 401
    row = AuditLog.objects.filter(action="sign_in_failed").get()
    assert (row.object_id, row.channel, row.address, row.user_agent) == (
        str(pediatrician.pk),
        "api",
        "198.51.100.20",
        "EHR-connector/2.1",
    )
