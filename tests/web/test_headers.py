"""Browser-side controls (docs/security.md): a Content-Security-Policy without inline script or
style on every page and answer, `Cache-Control: no-store` on everything carrying a child's data,
Swagger UI from the pinned sidecar package, and X-Forwarded-Proto believed only behind a proxy."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from carepath.api.tokens import token_issue

TEMPLATES = Path(django_settings.BASE_DIR) / "templates"


def csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in header.split(";"))


@pytest.mark.parametrize("path", ["/login/", "/work/", "case", "/dashboard/", "/admin/", "/admin/referrals/patient/"])
def test_every_page_has_a_policy_that_allows_no_inline_script_or_style(signed_in, admin_user, referral, path):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = signed_in(admin_user)
    if path == "/login/":
        client.logout()

    response = client.get(reverse("case", args=[referral.pk]) if path == "case" else path)

    assert response.status_code == 200
    policy = csp(response)
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]


def test_pages_and_api_answers_with_a_childs_data_are_never_stored(signed_in, pediatrician, referral):
    page = signed_in(pediatrician).get(reverse("case", args=[referral.pk]))
    _, raw = token_issue(user=pediatrician)
    answer = signed_in(pediatrician).get(f"/api/v1/referrals/{referral.pk}/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    for response in (page, answer):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert "unsafe" not in answer["Content-Security-Policy"]


def test_the_api_docs_serve_swagger_ui_from_our_own_static_files(signed_in, pediatrician):
    client = signed_in(pediatrician)
    page = client.get("/api/docs/")
    html = page.content.decode()

    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert "<style" not in html and not re.search(r"<script>", html)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_no_template_carries_inline_script_style_or_event_handlers():
    offending = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style",
            r"\sstyle=",
            r"\son[a-z]+=",
            r"javascript:",
            r"hx-on",
        ):
            offending += [f"{template.relative_to(TEMPLATES)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offending == []


def _settings_value(name: str, **env) -> str:
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'carepath.settings'; "
        f"from django.conf import settings; print(getattr(settings, {name!r}, None))"
    )
    clean = {k: v for k, v in os.environ.items() if k != "CAREPATH_BEHIND_PROXY"}
    result = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_x_forwarded_proto_is_believed_only_when_a_proxy_is_declared():
    assert _settings_value("SECURE_PROXY_SSL_HEADER", DEBUG="false") == "None"
    assert _settings_value("SECURE_PROXY_SSL_HEADER", DEBUG="false", CAREPATH_BEHIND_PROXY="true") == str(
        ("HTTP_X_FORWARDED_PROTO", "https")
    )


def test_a_forged_x_forwarded_proto_does_not_skip_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None  # no proxy declared (the default)

    response = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 301 and response["Location"].startswith("https://")


def test_the_browsable_api_allows_inline_style_attributes_but_never_inline_script(signed_in, pediatrician, referral):
    page = signed_in(pediatrician).get(f"/api/v1/referrals/{referral.pk}/", HTTP_ACCEPT="text/html")

    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    policy = csp(page)
    assert policy["style-src-attr"] == "'unsafe-inline'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
