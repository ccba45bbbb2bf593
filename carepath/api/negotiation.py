"""Content negotiation with DRF's answers, and a shortcut for the usual request."""

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation parses the Accept header and every renderer's media type on each request
    (~50 µs). An integration sends no Accept header or `*/*` and no `?format=`: for that request
    DRF's answer is always the view's first renderer with its own media type, given here directly
    (tests/api/test_negotiation.py compares the two). Anything else goes through DRF's own path."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if (
            format_suffix is None
            and accept == "*/*"
            and renderers
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
