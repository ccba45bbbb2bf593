"""The web session's idle timeout: signed out `SESSION_COOKIE_AGE` (30 minutes) after the last thing
the person did, however long a page keeps refreshing itself in the background.

Only requests a person made count as activity: each stamps the session with its time (which also
saves the session, so its cookie and row live `SESSION_COOKIE_AGE` past it). A background refresh
(My work's 30-second poll sends `X-Background-Refresh: true`, templates/carepath/_worklist.html)
neither stamps nor saves it. A request arriving after the idle time signs the session out before
any view runs; for an htmx request the answer tells the browser to open the sign-in page
(`HX-Redirect`), rather than swapping the sign-in page into the list (docs/security.md, "Session
idle timeout")."""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse

LAST_ACTIVE = "_carepath_last_active"
BACKGROUND_HEADER = "X-Background-Refresh"


def is_background(request) -> bool:
    return request.headers.get(BACKGROUND_HEADER, "").lower() == "true"


class IdleTimeoutMiddleware:
    """After the session, authentication and htmx middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:  # a signed-in web session (no user query)
            now = int(time.time())
            last = session.get(LAST_ACTIVE)
            if last is not None and now - last > settings.SESSION_COOKIE_AGE:
                logout(request)
                if getattr(request, "htmx", False):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = redirect_to_login(request.htmx.current_url_abs_path or "/")["Location"]
                    return response
            elif last is None or not is_background(request):
                session[LAST_ACTIVE] = now
        return self.get_response(request)
