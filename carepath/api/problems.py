"""Every error under /api/ as `application/problem+json` (RFC 9457), mapped once (docs/architecture.md).

Domain errors keep their status and words; DRF's own errors keep theirs; anything unexpected
becomes a bare 500 with no internal detail (the traceback goes to the log, not to the client).
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from carepath.pathway import text
from carepath.pathway.errors import DomainError

log = logging.getLogger("carepath.api")

PROBLEM = "application/problem+json"
TYPE_BASE = "https://carepath.example.org/problems/"


def problem_data(status_code: int, title: str, detail: str = "", *, kind: str = "", errors: dict | None = None) -> dict:
    data = {
        "type": TYPE_BASE + (kind or str(status_code)),
        "title": title,
        "status": status_code,
        "detail": detail or title,
    }
    if errors:
        data["errors"] = errors
    return data


def problem_response(status_code: int, title: str, detail: str = "", **kwargs) -> Response:
    return Response(problem_data(status_code, title, detail, **kwargs), status=status_code, content_type=PROBLEM)


def _field_errors(detail) -> dict:
    """DRF's nested error detail as {field: [messages]} (nested fields keep their nesting)."""
    errors = as_serializer_error(exceptions.ValidationError(detail))
    return {key: value for key, value in errors.items()}


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return " ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(v) for v in detail)
    return str(detail)


def _from_domain(exc: DomainError) -> Response:
    kind = type(exc).__name__.lower()
    data = problem_data(exc.status, exc.title, exc.detail, kind=kind, errors=exc.errors or None)
    data.update(getattr(exc, "extra", {}))  # e.g. who holds a taken step (StepTaken)
    return Response(data, status=exc.status, content_type=PROBLEM)


def _from_drf(exc: exceptions.APIException) -> Response:
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        if set(text.leaf_codes(exc.get_codes())) == {text.CODE}:  # well-formed, refused by the text rule
            return problem_response(
                422, "Unprocessable request", _flatten(errors), kind="control-characters", errors=errors
            )
        return problem_response(400, "Invalid data", _flatten(errors), kind="invalid-data", errors=errors)
    detail = exc.detail if isinstance(exc.detail, str) else _flatten(exc.detail)
    response = problem_response(
        exc.status_code,
        _TITLES.get(exc.status_code, "Request refused"),
        str(detail),
        kind=exc.default_code.replace("_", "-"),
    )
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
}


def exception_handler(exc, context) -> Response:
    if isinstance(exc, DomainError):
        return _from_domain(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return problem_response(413, _TITLES[413], "The request body is larger than this API accepts.")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request could not be read.")
    elif isinstance(exc, RecursionError):
        exc = exceptions.ParseError("The request is nested too deeply.")
    if isinstance(exc, exceptions.APIException):
        return _from_drf(exc)
    view = context.get("view")
    log.exception("Unhandled error in %s", type(view).__name__ if view else "API view", exc_info=exc)
    return problem_response(500, _TITLES[500], "Something went wrong on our side. It has been logged.")


@csrf_exempt  # no state changes here; without this a POST to an unknown path got an HTML CSRF page
def not_found_view(request, *args, **kwargs):
    """Unknown paths under /api/ answer 404 in the same shape as everything else."""
    return JsonResponse(
        problem_data(404, _TITLES[404], "There is nothing at this address."), status=404, content_type=PROBLEM
    )


__all__ = ["PROBLEM", "exception_handler", "problem_data", "problem_response", "not_found_view", "status"]
