"""No input, of any shape or size, gets a 5xx or an HTML page; refused input changes nothing."""

import json

import pytest

from referrals.models import Referral

from .conftest import transition


def raw_post(client, url, body: bytes, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def assert_problem(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body) and "Traceback" not in body["detail"]


def test_malformed_json_is_a_400_problem(api, referral, neurologist):
    assert_problem(raw_post(api(neurologist), f"/api/v1/referrals/{referral.pk}/transitions/", b"{not json"), 400)


def test_a_huge_body_is_a_413_problem(api, referral, neurologist, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"transition": "triage", "data": {"priority": "x" * 20_000}}).encode()

    assert_problem(raw_post(api(neurologist), f"/api/v1/referrals/{referral.pk}/transitions/", body), 413)


def test_deeply_nested_json_is_a_400_problem(api, referral, neurologist):
    body = b'{"transition": "triage", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}"

    assert_problem(raw_post(api(neurologist), f"/api/v1/referrals/{referral.pk}/transitions/", body), 400)


def test_a_form_body_is_a_415_problem(api, referral, neurologist):
    response = raw_post(
        api(neurologist),
        f"/api/v1/referrals/{referral.pk}/transitions/",
        b"transition=triage",
        content_type="application/x-www-form-urlencoded",
    )

    assert_problem(response, 415)


def test_a_wrong_method_is_a_405_problem(api, referral, neurologist):
    assert_problem(api(neurologist).delete(f"/api/v1/referrals/{referral.pk}/"), 405)


def test_an_unknown_api_path_is_a_404_problem(api, neurologist):
    assert_problem(api(neurologist).get("/api/v1/no-such-thing/"), 404)


@pytest.mark.parametrize(
    "data",
    [
        {"priority": ["urgent"]},
        {"priority": None},
        {"priority": 3},
        {},
        {"priority": "urgent\u0000"},
        {"priority": "'; DROP TABLE referrals_referral; --"},
    ],
)
def test_wrong_types_and_hostile_strings_are_400_and_change_nothing(api, referral, neurologist, data):
    response = transition(api(neurologist), "referrals", referral.pk, "triage", data)

    assert_problem(response, 400)
    referral.refresh_from_db()
    assert (referral.state, referral.version) == ("submitted", 1)


@pytest.mark.parametrize(
    "body",
    [
        [],
        "triage",
        {"transition": 5},
        {"transition": "triage", "data": "urgent"},
        {"transition": "triage", "data": {"priority": "urgent"}, "version": "one"},
    ],
)
def test_malformed_transition_requests_are_400(api, referral, neurologist, body):
    response = api(neurologist).post(f"/api/v1/referrals/{referral.pk}/transitions/", body, format="json")

    assert_problem(response, 400)


def test_odd_unicode_and_sql_in_free_text_is_stored_verbatim(api, referral, neurologist):
    reason = "Ask: \u202eevil\u202c 🧠 ' OR 1=1; -- \u00e9\u0301"

    response = transition(api(neurologist), "referrals", referral.pk, "return_to_referrer", {"reason": reason})

    assert response.status_code == 200
    assert Referral.objects.get(pk=referral.pk).return_reason == reason


def test_a_lone_surrogate_is_a_400(api, referral, neurologist):
    body = b'{"transition": "return_to_referrer", "data": {"reason": "\\ud800"}}'

    assert_problem(raw_post(api(neurologist), f"/api/v1/referrals/{referral.pk}/transitions/", body), 400)


@pytest.mark.parametrize(
    "query",
    [
        "state=bogus",
        "patient=abc",
        "submitted_after=yesterday",
        "cursor=%00%ff",
        "page_size=-1",
        "overdue=maybe",
        "patient=99999999999999999999999",
    ],
)
def test_bad_query_parameters_never_give_a_5xx(api, referral, neurologist, query):
    response = api(neurologist).get(f"/api/v1/referrals/?{query}")

    assert response.status_code < 500


def test_a_huge_id_in_the_path_is_a_404(api, neurologist):
    assert_problem(api(neurologist).get("/api/v1/referrals/9999999999999999999999/"), 404)


def test_an_unexpected_error_is_a_500_problem_without_internals(api, referral, neurologist, monkeypatch):
    from referrals import api as referrals_api

    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(referrals_api.ReferralViewSet, "_detail_response", boom)

    response = api(neurologist).get(f"/api/v1/referrals/{referral.pk}/")

    assert_problem(response, 500)
    assert "secret" not in response.content.decode()


@pytest.mark.parametrize(
    "url, position",
    [
        ("/api/v1/worklist/?page_size=1", b"p=not-a-time"),  # a compiled page (carepath/db/compiled.py)
        ("/api/v1/worklist/?page_size=1&kind=triage", b"p=10000-01-01 00:00:00+00:00"),  # built by the ORM
        ("/api/v1/referrals/?page_size=1", b"p=yesterday"),
        ("/api/v1/notifications/?page_size=1", b"p=2026-13-45"),
        ("/api/v1/worklist/?page_size=1", b'p=["not-a-time",1]'),  # a place as JSON, but not the order's
        ("/api/v1/worklist/?page_size=1&kind=triage", b'p=["2026-12-01T00:00:00+00:00","one"]'),
        ("/api/v1/referrals/?page_size=1", b'p=["2026-12-01T00:00:00+00:00"]'),  # one value short
        ("/api/v1/referrals/?page_size=1", b'r=1&p=[true,{"id":1}]'),  # backwards, from no value
        ("/api/v1/patients/?page_size=1", b"p=[null]"),
    ],
)
def test_a_cursor_with_a_forged_position_is_the_invalid_cursor_404(api, pathway, url, position):
    import base64

    for _ in range(3):
        pathway.submitted()
    forged = base64.b64encode(position).decode()

    response = api(pathway.neuro).get(f"{url}&cursor={forged}")

    assert_problem(response, 404)
    assert "cursor" in response.json()["detail"].lower()


@pytest.mark.parametrize("odd", ["\\u0000left", "\\ud800", "left\\udfff"])
@pytest.mark.parametrize("key", [None, "odd-choice-1"])
def test_a_nul_or_lone_surrogate_in_a_choice_is_a_400_that_names_the_field(api, pathway, pediatrician, odd, key):
    """A refused value is not echoed back in a form no text column or UTF-8 body can hold (the
    Idempotency-Key's stored answer included). Found by schemathesis with more examples."""
    patient = pathway.submitted().patient
    body = f'{{"patient": {patient.pk}, "reason": "Twitching", "side": "{odd}"}}'.encode()
    client = api(pediatrician)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    before = Referral.objects.count()

    first = client.generic("POST", "/api/v1/referrals/", body, content_type="application/json", **headers)
    again = client.generic("POST", "/api/v1/referrals/", body, content_type="application/json", **headers)

    assert_problem(first, 400)
    assert "side" in first.json()["errors"]
    assert again.status_code == 400 and again.json() == first.json()
    assert Referral.objects.count() == before


def test_an_unstorable_character_deep_in_a_body_names_where_it_is(api, pediatrician):
    from referrals.models import Patient

    body = (
        b'{"mrn": "ODD-1", "given_name": "Robin", "family_name": "Hale", "birth_date": "2018-04-02", "sex": "male",'
        b' "guardians": [{"name": "Jo", "relationship": "mother"}, {"name": "Al\\u0000", "relationship": "father"}]}'
    )

    response = raw_post(api(pediatrician), "/api/v1/patients/", body)

    assert_problem(response, 400)
    assert list(response.json()["errors"]) == ["guardians[1].name"]
    assert not Patient.objects.filter(mrn="ODD-1").exists()
