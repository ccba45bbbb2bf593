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
