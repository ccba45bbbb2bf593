from django.apps import apps
from django.conf import settings

from carepath.models import AuditLog
from carepath.pathway import audit, registry
from carepath.web import webforms


def client_address(request) -> str:
    """The client's IP address. Behind a proxy (`CAREPATH_BEHIND_PROXY`), the last address in
    X-Forwarded-For: the one our proxy appended; anything before it the client could have written.
    Without a proxy the header is the client's own claim and is ignored (docs/security.md)."""
    if getattr(settings, "CAREPATH_BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return request.META.get("REMOTE_ADDR", "")


class AuditChannelMiddleware:
    """Tags audit rows with where the request came from (api, admin or web), the client's address
    and user agent; records a denied attempt (403, or 404 on a record's URL) as an audit row."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        channel = "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "web"
        token = audit.set_channel(channel)
        context = audit.set_request(address=client_address(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))
        try:
            response = self.get_response(request)
            if response.status_code in (403, 404):
                _record_denied(request, response.status_code)
            return response
        finally:
            audit.reset_request(context)
            audit.reset_channel(token)


# URL names (or an API router's basename) → the record they name, and the path to its patient: a
# denied attempt on it is attributed to the child ("who looked at this child"). The apps add their
# own records' URLs in their ready() (carepath/pathway/registry.py).
_RECORD_URLS = {
    "work_item_claim": ("carepath.WorkItem", "referral__patient_id"),
    "work_item_release": ("carepath.WorkItem", "referral__patient_id"),
    "api-worklist": ("carepath.WorkItem", "referral__patient_id"),
}


def _record_denied(request, status: int) -> None:
    """A 403 anywhere, or a 404 on a record's URL (an address the user may not see is a 404, so
    as not to confirm it exists), by a signed-in user: who tried what."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    match = request.resolver_match
    name = (match.url_name or "") if match else ""
    pk = match.kwargs.get("pk") if match else None
    records = {**_RECORD_URLS, **registry.DENIED_RECORDS}
    record = next((r for prefix, r in records.items() if name == prefix or name.startswith(prefix + "-")), None)
    if status == 404 and (record is None or pk is None):
        return
    patient_id = None
    if record is not None and pk is not None and str(pk).isdigit():
        model = apps.get_model(record[0])
        patient_id = model.objects.filter(pk=pk).values_list(record[1], flat=True).first()
    audit.record_event(
        user,
        AuditLog.Action.DENIED,
        record[0].lower() if record else name or "page",
        pk or "",
        patient_id=patient_id,
        changes={"status": status, "method": request.method, "path": request.path[:300]},
    )


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


class DomainErrorPagesMiddleware:
    """The pages' one mapping of a domain refusal that leaves a view (carepath/web/webforms.py
    `page_for`): views do not catch `Forbidden` one by one. The API maps its own, to problem+json
    (carepath/api/problems.py), before any middleware sees it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/api/"):
            return None
        return webforms.page_for(request, exception)
