"""Attachments over REST (docs/api.md, "Attachments"): a case's files (list, multipart upload,
download with byte ranges), a family's upload link (made by a clinician), and the family's upload
through it (no sign-in). Refusals are problem+json: 413 too large, 415 not an accepted type, 403 a
role that may not, 404 a case you may not see, 410 a used or expired link, 422 refused by the scan."""

from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from carepath.api.common import ReadModelSerializer
from carepath.api.idempotency import idempotent
from carepath.models import Channel
from carepath.pathway import audit

from ..models import Referral
from . import services, uploads, views
from .models import Attachment, AttachmentCategory, UploadLink

ID = "<int:pk>"
PROBLEMS = {
    status: OpenApiResponse(description=words)
    for status, words in {
        403: "Your role may not do this.",
        404: "No such case, or not one you may see.",
        413: "The file is larger than its kind may be.",
        415: "Not an accepted type (read from the bytes, not the name).",
        422: "Refused by the virus scanner.",
    }.items()
}


class AttachmentSerializer(ReadModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    from_family = serializers.BooleanField(read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "kind",
            "content_type",
            "category",
            "title",
            "original_name",
            "size",
            "sha256",
            "duration_seconds",
            "preview_note",
            "scanned",
            "uploaded_by",
            "from_family",
            "uploaded_at",
            "links",
        ]
        read_only_fields = fields

    def get_links(self, obj) -> dict[str, str]:
        links = {"file": reverse("api-attachment-file", args=[obj.referral_id, obj.pk])}
        if obj.poster:
            links["poster"] = reverse("api-attachment-poster", args=[obj.referral_id, obj.pk])
        return links


class UploadInput(serializers.Serializer):
    file = serializers.FileField()
    category = serializers.ChoiceField(choices=AttachmentCategory.choices, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


class CheckedUploads:
    """A POST's body is read through the checking handler (referrals/attachments/uploads.py); it is
    installed before authentication, whose session CSRF check reads the body."""

    def initial(self, request, *args, **kwargs):
        self.upload_handler = uploads.install(request._request) if request.method == "POST" else None
        super().initial(request, *args, **kwargs)

    def uploaded(self, request):
        return uploads.received_file(request, self.upload_handler, "A file is required (multipart/form-data, `file`).")


class AttachmentList(CheckedUploads, APIView):
    """A case's files, newest first; POST adds one (multipart/form-data)."""

    parser_classes = [MultiPartParser]

    @extend_schema(responses={200: AttachmentSerializer(many=True), 404: PROBLEMS[404]})
    def get(self, request, pk):
        referral = _case(request.user, pk)
        attachments = list(referral.attachments.select_related("uploaded_by"))
        audit.record_list(request.user, Attachment, [a.pk for a in attachments], f"referral={pk}")
        return Response(AttachmentSerializer(attachments, many=True).data)

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={201: AttachmentSerializer, **{s: PROBLEMS[s] for s in (403, 404, 413, 415, 422)}},
    )
    def post(self, request, pk):
        upload = self.uploaded(request)
        try:
            attachment = services.attachment_upload(
                referral_id=pk,
                actor=request.user,
                file=upload,
                original_name=upload.name,
                category=request.data.get("category") or AttachmentCategory.OTHER,
                title=request.data.get("title", ""),
            )
        except Referral.DoesNotExist:
            raise Http404 from None
        return Response(AttachmentSerializer(attachment).data, status=201)


class Download(APIView):
    """The file's bytes (`Range` honoured: 206), for a caller who may see the case; audited."""

    poster = False

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # any Accept: the file is what it is

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 206: OpenApiTypes.BINARY})
    def get(self, request, pk, attachment_id):
        attachment = views.attachment_for(request.user, pk, attachment_id, poster=self.poster)
        return views.read(request, request.user, attachment, poster=self.poster)


class PosterDownload(Download):
    poster = True


class UploadLinkInput(serializers.Serializer):
    guardian = serializers.IntegerField(
        required=False,
        help_text="One of the child's parents or carers (their id) to send the link to; by default the first "
        "with parental responsibility.",
    )
    send = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Send the link to the family by their contact preference (SMS and/or e-mail); true when "
        "`guardian` is given. False (the default otherwise): the link is in the answer, to copy.",
    )

    def validate(self, attrs):
        if attrs.get("send") is None:
            attrs["send"] = attrs.get("guardian") is not None
        if not attrs["send"] and attrs.get("guardian") is not None:
            raise serializers.ValidationError({"guardian": "Name a parent or carer only to send them the link."})
        return attrs


class UploadLinkSentTo(serializers.Serializer):
    guardian = serializers.IntegerField()
    name = serializers.CharField()
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices))


class UploadLinkMade(serializers.Serializer):
    url = serializers.URLField(allow_null=True, help_text="The link when it was not sent: shown only here.")
    expires_at = serializers.DateTimeField()
    sent_to = UploadLinkSentTo(allow_null=True, help_text="Who the link was sent to, and how (null: not sent).")


class UploadLinks(APIView):
    """A one-time upload link for the family (pediatrician or neurology): sent to a parent or carer, or
    returned to copy (the URL is shown only in this answer, and never when it was sent)."""

    @extend_schema(
        request=UploadLinkInput,
        responses={
            201: UploadLinkMade,
            400: OpenApiResponse(description="Invalid data, or a `guardian` who is not the child's."),
            403: PROBLEMS[403],
            404: PROBLEMS[404],
            409: OpenApiResponse(description="The case is closed."),
            422: OpenApiResponse(description="The parent or carer has no phone or e-mail we may use."),
        },
    )
    def post(self, request, pk):
        given = UploadLinkInput(data=request.data)
        given.is_valid(raise_exception=True)
        if given.validated_data["send"]:
            return self.send(request, pk, guardian=given.validated_data.get("guardian"))
        try:  # no Idempotency-Key here: its stored answer would keep the link; a retry makes another
            link, token = services.upload_link_create(referral_id=pk, actor=request.user)
        except Referral.DoesNotExist:
            raise Http404 from None
        url = request.build_absolute_uri(reverse("family_upload", args=[token]))
        return Response(_made(link, url, None), status=201)

    @idempotent  # a retried POST sends the family one message, not two
    def send(self, request, pk, *, guardian):
        try:
            sent = services.upload_link_send(referral_id=pk, actor=request.user, guardian=guardian)
        except Referral.DoesNotExist:
            raise Http404 from None
        return Response(_made(sent.link, None, sent), status=201)


def _made(link: UploadLink, url: str | None, sent: services.Sent | None) -> dict:
    sent_to = None
    if sent is not None:
        sent_to = {"guardian": sent.guardian.pk, "name": sent.guardian.name, "channels": sent.channels}
    return UploadLinkMade({"url": url, "expires_at": link.expires_at, "sent_to": sent_to}).data


class FamilyUpload(CheckedUploads, APIView):
    """A family's file through their link (no sign-in): 201 once, then 410."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={
            201: inline_serializer("FamilyUploadDone", {"received": serializers.BooleanField()}),
            410: OpenApiResponse(description="The link was used already or has expired."),
            **{s: PROBLEMS[s] for s in (413, 415, 422)},
        },
    )
    def post(self, request, token):
        upload = self.uploaded(request)
        try:
            services.family_upload(
                token=token, file=upload, original_name=upload.name, title=request.data.get("title", "")
            )
        except UploadLink.DoesNotExist:
            raise Http404 from None
        return Response({"received": True}, status=201)  # nothing of the record goes back to the family


def _case(user, pk: int) -> Referral:
    try:
        return services.visible_case(user, pk)
    except Referral.DoesNotExist:
        raise Http404 from None


urlpatterns = [
    path(f"referrals/{ID}/attachments/", AttachmentList.as_view(), name="api-attachment-list"),
    path(f"referrals/{ID}/attachments/<int:attachment_id>/file/", Download.as_view(), name="api-attachment-file"),
    path(
        f"referrals/{ID}/attachments/<int:attachment_id>/poster/",
        PosterDownload.as_view(),
        name="api-attachment-poster",
    ),
    path(f"referrals/{ID}/upload-links/", UploadLinks.as_view(), name="api-upload-link"),
    path("family-uploads/<str:token>/", FamilyUpload.as_view(), name="api-family-upload"),
]
