"""An API response's data is freed when the response is closed, not left to the cyclic collector."""

import gc
import io
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from carepath.api.tokens import token_issue


def _cyclic_garbage(handler, path: str, authorization: str, n: int = 10) -> float:
    """Objects the cyclic collector has to free per request, through the WSGI handler as a server
    calls it (the test client keeps references of its own)."""

    def get():
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "page_size=50",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "HTTP_AUTHORIZATION": authorization,
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
        }
        status = []
        response = handler(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            b"".join(response)
        finally:
            response.close()
        assert status[0].startswith("200")

    # as the test client does: the test's database connection must outlive each request
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        get()
        gc.collect()
        gc.disable()
        for _ in range(n):
            get()
        return gc.collect() / n
    finally:
        gc.enable()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("path", ["/api/v1/referrals/", "/api/v1/worklist/"])
def test_a_list_page_leaves_its_rows_to_reference_counting(pathway, settings, path):
    rows = 40
    for _ in range(rows):
        pathway.submitted()
    authorization = f"Bearer {token_issue(user=pathway.neuro, name='t')[1]}"
    with_release = _cyclic_garbage(WSGIHandler(), path, authorization)
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("ReleaseResponseDataMiddleware")]
    without = _cyclic_garbage(WSGIHandler(), path, authorization)

    assert without - with_release > 2 * rows, (without, with_release)  # a few containers per row
