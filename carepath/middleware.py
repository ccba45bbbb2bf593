from . import audit


class AuditChannelMiddleware:
    """Tags audit rows with where the request came from (api, admin or web)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        channel = "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "web"
        token = audit.set_channel(channel)
        try:
            return self.get_response(request)
        finally:
            audit.reset_channel(token)


class ReleaseResponseDataMiddleware:
    """Frees an API response's data as soon as the response is closed, not at the next collection.

    DRF ties the view, the request and the response into reference cycles (`view.response`,
    `response.renderer_context["view"]`, `request.parser_context["view"]`), so everything a response
    holds, a page of 50 rows with their dicts and lists, outlives the request until the cyclic
    garbage collector finds it: ~570 objects per referral-list page, and a young-generation
    collection every ~10 requests that took ~1.2 ms, in the API's tail latency (docs/decisions.md,
    "Garbage collection"). Once the response is closed (its bytes are written), nothing reads its
    data or context, so both are dropped and reference counting frees them at once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if hasattr(response, "renderer_context"):  # a DRF Response
            response._resource_closers.append(lambda: _release(response))
        return response


def _release(response) -> None:
    view = (response.renderer_context or {}).get("view")
    if view is not None and getattr(view, "response", None) is response:
        view.response = None
    response.data = response.renderer_context = None
