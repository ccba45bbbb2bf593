"""`POST /api/v1/fhir/ServiceRequest` (an EHR client sends a referral) and
`GET /api/v1/fhir/ServiceRequest/referral-{id}` (what the Location header names). Every answer is
`application/fhir+json`; every refusal an OperationOutcome (docs/integrations.md)."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from carepath.api import problems
from carepath.api.parsers import BoundedJSONParser
from carepath.pathway import audit
from carepath.pathway.roles import Role, has_role
from referrals import fhir, selectors

from .codes import V2_0203
from .mapping import order_from
from .outcome import FhirProblem, operation_outcome
from .reading import read
from .receive import receive

FHIR_JSON = "application/fhir+json"
ISSUE_CODES = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    406: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    429: "throttled",
}


class FhirJSONParser(BoundedJSONParser):
    media_type = FHIR_JSON


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class IsEhrClient(BasePermission):
    message = "Only an EHR client may send referrals as FHIR."

    def has_permission(self, request, view):
        return has_role(request.user, Role.EHR_CLIENT)


def fhir_exception_handler(exc, context):
    """A FhirProblem as its OperationOutcome; anything else (no token, wrong role, unreadable
    JSON, throttled) as the API's problem+json would say it, in an OperationOutcome."""
    if isinstance(exc, FhirProblem):
        return Response(operation_outcome(exc.issues), status=exc.status, content_type=FHIR_JSON)
    problem = problems.exception_handler(exc, context)
    body = problem.data or {}
    code = ISSUE_CODES.get(problem.status_code, "exception")
    issues = [
        (field, message, "invalid") for field, messages in (body.get("errors") or {}).items() for message in messages
    ]
    response = Response(
        operation_outcome(issues or [("", body.get("detail") or body.get("title", ""), code)]),
        status=problem.status_code,
        content_type=FHIR_JSON,
    )
    for header in ("WWW-Authenticate", "Retry-After"):
        if header in problem:
            response[header] = problem[header]
    return response


class FhirView(APIView):
    permission_classes = [IsEhrClient]
    parser_classes = [FhirJSONParser, BoundedJSONParser]
    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    def get_exception_handler(self):
        return fhir_exception_handler


def _resource(referral) -> dict:
    resource = fhir.service_request(referral)
    placed = getattr(referral, "placer_order", None)
    if placed is not None:
        placer = {
            "type": {"coding": [{"system": V2_0203, "code": "PLAC"}]},
            "system": placed.system,
            "value": placed.value,
        }
        resource["identifier"] = [*resource.get("identifier", []), placer]
    return resource


def _location(referral) -> str:
    return f"/api/v1/fhir/ServiceRequest/referral-{referral.pk}"


IF_NONE_EXIST = OpenApiParameter(
    "If-None-Exist",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="`identifier=system|value`: the placer's order number, if the ServiceRequest does not carry it "
    "as an identifier of type PLAC. A second POST with the same number creates nothing and answers 200.",
)
OUTCOME = OpenApiResponse(OpenApiTypes.OBJECT, description="OperationOutcome naming the element (issue.expression).")


class ServiceRequestCreate(FhirView):
    @extend_schema(
        operation_id="fhir_servicerequest_create",
        summary="Send a referral as a FHIR R4 ServiceRequest (Bundle or contained resources)",
        request={FHIR_JSON: OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        parameters=[IF_NONE_EXIST],
        responses={
            (201, FHIR_JSON): OpenApiResponse(
                OpenApiTypes.OBJECT, description="Created: the ServiceRequest; Location."
            ),
            (200, FHIR_JSON): OpenApiResponse(
                OpenApiTypes.OBJECT, description="Received before: the same ServiceRequest."
            ),
            (400, FHIR_JSON): OUTCOME,
            (403, FHIR_JSON): OUTCOME,
            (409, FHIR_JSON): OUTCOME,
            (422, FHIR_JSON): OUTCOME,
        },
        examples=[OpenApiExample("See docs/integrations.md for a whole Bundle", value={"resourceType": "Bundle"})],
        tags=["fhir"],
        extensions={"x-errors-as": "OperationOutcome"},
    )
    def post(self, request):
        order = order_from(read(request.data), if_none_exist=request.headers.get("If-None-Exist", ""))
        referral, created = receive(actor=request.user, order=order)
        response = Response(_resource(referral), status=201 if created else 200, content_type=FHIR_JSON)
        response["Location"] = _location(referral)
        return response


class ServiceRequestRead(FhirView):
    @extend_schema(
        operation_id="fhir_servicerequest_read",
        summary="A referral as a FHIR R4 ServiceRequest",
        responses={(200, FHIR_JSON): OpenApiTypes.OBJECT, (404, FHIR_JSON): OUTCOME},
        tags=["fhir"],
        extensions={"x-errors-as": "OperationOutcome"},
    )
    def get(self, request, resource_id: str):
        """`referral-<pk>`, the id the export and the Location header give; anything else is 404."""
        pk = resource_id.removeprefix("referral-")
        found = selectors.referrals_visible_to(request.user).select_related("placer_order")
        referral = found.filter(pk=int(pk)).first() if pk.isascii() and pk.isdigit() and len(pk) < 19 else None
        if referral is None:
            raise Http404
        audit.record_view(request.user, referral, "fhir")
        return Response(_resource(referral), content_type=FHIR_JSON)
