"""Tests of one rule through its service, the API and the page: both sets of helpers."""

from tests.api.conftest import _clear_throttles, _plain_http, api  # noqa: F401
from tests.web.conftest import _plain_http_and_static, signed_in  # noqa: F401
