"""`/api/schema/` and `/api/docs/` need a signed-in caller in production settings unless
`API_DOCS_PUBLIC` opens them (carepath/api/docs.py)."""

import pytest


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.API_DOCS_PUBLIC = False


def test_an_anonymous_caller_gets_401_for_the_schema(client, db, production):
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_anonymous_browser_is_sent_to_sign_in_for_the_docs_page(client, db, production):
    response = client.get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/api/docs/"


def test_a_bearer_token_or_a_web_session_opens_both(api, client, neurologist, production):
    assert api(neurologist).get("/api/schema/?format=json").status_code == 200
    client.force_login(neurologist)
    assert client.get("/api/schema/?format=json").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_api_docs_public_opens_both_to_anyone(client, db, production, settings):
    settings.API_DOCS_PUBLIC = True

    assert client.get("/api/schema/?format=json").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_the_setting_defaults_to_open_only_in_development(monkeypatch):
    import importlib

    import carepath.settings as module

    for debug, public in (("false", False), ("true", True)):
        monkeypatch.setenv("DEBUG", debug)
        monkeypatch.delenv("API_DOCS_PUBLIC", raising=False)
        assert importlib.reload(module).API_DOCS_PUBLIC is public
    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("API_DOCS_PUBLIC", "true")
    assert importlib.reload(module).API_DOCS_PUBLIC is True
    monkeypatch.undo()
    importlib.reload(module)
