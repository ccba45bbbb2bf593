"""`POST /api/v1/hl7/`: an HL7 v2 message (ER7) over HTTP, answered with its ACK, for a RIS that
cannot speak MLLP. Only a RIS integration user (role `ris_client`) may send."""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.views import APIView

from carepath.api.parsers import RequestTooLarge
from carepath.pathway.errors import Forbidden
from carepath.pathway.roles import Role, has_role

from . import inbound

MEDIA_TYPE = "application/hl7-v2"
SAMPLE = "MSH|^~\\&|RIS|HOSP|CAREPATH|HOSP|20261205101500||SIU^S12^SIU_S12|RIS000123|P|2.5.1\rSCH|..."


class ER7Parser(BaseParser):
    media_type = MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) if stream else b""
        if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise RequestTooLarge()
        return body.decode("utf-8", errors="replace")


class TextER7Parser(ER7Parser):
    media_type = "text/plain"


class HL7MessageView(APIView):
    parser_classes = [ER7Parser, TextER7Parser]

    @extend_schema(
        operation_id="hl7_message_receive",
        summary="Send an HL7 v2 message (ER7); the answer is its ACK",
        description="AA: done (or held for a neuroradiologist); AE: refused by CarePath's rules, nothing "
        "changed; AR: unreadable or unsupported. A message whose MSH-10 was seen before gets the first ACK "
        "again and changes nothing. The ACK is sent only after the message's effects committed "
        "(docs/integrations.md, HL7 v2).",
        request={MEDIA_TYPE: {"type": "string"}, "text/plain": {"type": "string"}},
        responses={
            (200, MEDIA_TYPE): OpenApiResponse(response={"type": "string"}, description="The ACK (ER7)."),
            403: OpenApiResponse(description="Not the RIS's integration user."),
        },
        examples=[OpenApiExample("SIU^S12", value=SAMPLE, request_only=True, media_type=MEDIA_TYPE)],
        tags=["hl7"],
    )
    def post(self, request):
        if not has_role(request.user, Role.RIS_CLIENT):
            raise Forbidden("Only the RIS's integration user sends HL7 messages.")
        ack = inbound.receive(request.data or "", actor=request.user, channel="http")
        return HttpResponse(ack, content_type=MEDIA_TYPE)
