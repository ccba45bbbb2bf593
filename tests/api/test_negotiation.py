"""The content negotiation shortcut gives DRF's own answer (carepath/api/negotiation.py)."""

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from carepath.api.negotiation import ContentNegotiation
from referrals.api import ReferralViewSet


class FhirRenderer(JSONRenderer):
    media_type = "application/fhir+json"


RENDERER_SETS = [
    [JSONRenderer(), BrowsableAPIRenderer()],
    [FhirRenderer(), JSONRenderer()],
    [BrowsableAPIRenderer(), JSONRenderer()],
]


@pytest.mark.parametrize("renderers", RENDERER_SETS, ids=["json-first", "fhir-first", "html-first"])
@pytest.mark.parametrize(
    "accept, query",
    [
        (None, ""),
        ("*/*", ""),
        ("*/*", "?format=api"),
        ("*/*", "?format=json"),
        ("application/json", ""),
        ("text/html", ""),
        ("application/json; indent=4", ""),
        ("text/html;q=0.5, application/json", ""),
        ("*/*;q=0.8", ""),
    ],
)
def test_the_shortcut_answers_what_drf_answers(renderers, accept, query):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/referrals/{query}", **headers))

    def answer(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
        except Exception as error:  # noqa: BLE001 - the two must fail alike too
            return type(error).__name__
        return type(renderer).__name__, media_type

    assert answer(ContentNegotiation()) == answer(DefaultContentNegotiation())


def test_the_api_uses_it():
    assert ReferralViewSet().get_content_negotiator().__class__ is ContentNegotiation
