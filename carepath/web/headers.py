"""Response headers every answer carries (docs/security.md, "Browser-side controls").

- `Content-Security-Policy`: scripts, styles, images, fonts and connections from our own origin
  only; no inline script or style, no plugins, no framing, forms post only to us. Every script the
  UI runs is a static file (htmx from django-htmx, the admin's, Swagger UI from
  drf-spectacular-sidecar), so an injected `<script>` or `onclick=` in stored data does not run.
  One exception: DRF's browsable API (HTML under /api/) writes `style=""` attributes in its own
  templates, so its pages allow inline style *attributes* (`style-src-attr`), never script.
- `Cache-Control: no-store` (and `private`, `no-cache`, `max-age=0`): pages and API answers carry
  children's records; no browser cache on a shared ward computer or proxy keeps a copy. Static files
  are served before this middleware (WhiteNoise) and keep their long-lived caching.
"""

from django.conf import settings
from django.utils.cache import add_never_cache_headers

HEADER = "Content-Security-Policy"


def policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = policy(settings.CAREPATH_CSP)
        self.csp_browsable = policy({**settings.CAREPATH_CSP, "style-src-attr": "'unsafe-inline'"})

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            browsable = request.path.startswith("/api/") and response.get("Content-Type", "").startswith("text/html")
            response[HEADER] = self.csp_browsable if browsable else self.csp
        add_never_cache_headers(response)
        return response
