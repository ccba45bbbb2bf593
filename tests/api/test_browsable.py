"""The browsable API (HTML, for a signed-in person) renders the lists whose queryset is a compiled
page query (carepath/api/pagination.py), with and without filters."""

import pytest

from carepath.models import case_reference


@pytest.mark.parametrize(
    "url",
    ["/api/v1/worklist/", "/api/v1/worklist/?kind=triage", "/api/v1/referrals/", "/api/v1/referrals/?state=submitted"],
)
def test_a_list_renders_as_html_for_a_signed_in_person(client, pathway, settings, url):
    # the test run has no collectstatic manifest; the page's assets are not what this checks
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    case = pathway.submitted()
    client.force_login(pathway.neuro)

    response = client.get(url, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert case_reference(case.pk).encode() in response.content


def test_the_html_list_links_to_the_next_page(client, pathway, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    for _ in range(3):
        pathway.submitted()
    client.force_login(pathway.neuro)

    response = client.get("/api/v1/referrals/?page_size=2", HTTP_ACCEPT="text/html")
    following = client.get(response.context["paginator"].get_next_link(), HTTP_ACCEPT="text/html")

    assert b'rel="next"' in response.content
    assert following.status_code == 200
