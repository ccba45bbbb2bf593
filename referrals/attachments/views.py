"""The attachment pages (docs/ui.md, "Attachments"): staff add a file to a case, open one, make a
family's upload link; a family sends a file through that link without signing in. Every file read
is checked against the case's access rule and audited; a family's page shows the child's first name
and nothing else of the record."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from carepath.models import AuditLog
from carepath.pathway import audit
from carepath.pathway.errors import DomainError, InvalidData
from carepath.web.formfields import int_or_none

from ..models import Referral
from . import sending, services, serving, uploads
from .errors import LinkGone, LinkMadeMeanwhile
from .link_form import link_field
from .models import Attachment, AttachmentCategory, UploadLink

CASE_ANCHOR = "#attachments"
WAITING_ANCHOR = "#upload-links"  # the links the family has not used yet: a sent one is there at once


def case_context(referral: Referral, user) -> dict:
    """What the case page's attachments section shows (referrals/views.py adds it to its context)."""
    may_make_link = services.may_make_link(user, referral)
    return {
        "attachments": list(referral.attachments.select_related("uploaded_by")),
        "may_upload": services.may_upload(user),
        "may_make_link": may_make_link,
        "link_field": link_field(referral, user) if may_make_link else None,
        "waiting_links": sending.waiting_links(referral) if may_make_link else [],
        "attachment_categories": [c for c in AttachmentCategory if c != AttachmentCategory.FAMILY_MEDIA],
    }


def _case_or_404(user, pk: int) -> Referral:
    try:
        return services.visible_case(user, pk)
    except Referral.DoesNotExist:
        raise Http404("No such case") from None


def attachment_for(user, pk: int, attachment_id: int, *, poster: bool = False) -> Attachment:
    """The file on a case `user` may see; 404 for anything else (another case's file, no poster)."""
    referral = _case_or_404(user, pk)
    attachment = Attachment.objects.filter(referral=referral, pk=attachment_id).first()
    if attachment is None or (poster and not attachment.poster):
        raise Http404("No such file on this case")
    attachment.referral = referral
    return attachment


@login_required
@require_POST
def upload_link_withdraw(request: HttpRequest, pk: int, link_id: int) -> HttpResponse:
    """*Withdraw* on a link waiting for the family: it stops working now (sent to the wrong person)."""
    try:
        services.upload_link_withdraw(referral_id=pk, link_id=link_id, actor=request.user)
    except (Referral.DoesNotExist, UploadLink.DoesNotExist):
        raise Http404("No such link on this case") from None
    messages.success(request, "The link is withdrawn: it no longer works, and a message not sent yet will not go.")
    return redirect(reverse("case", args=[pk]) + WAITING_ANCHOR)


@csrf_exempt  # the CSRF check reads the body: the upload's checking handler must be in place first
@login_required
@require_POST
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    handler = uploads.install(request)
    return csrf_protect(_add)(request, pk, handler)


def _add(request: HttpRequest, pk: int, handler) -> HttpResponse:
    target = reverse("case", args=[pk]) + CASE_ANCHOR
    try:
        upload = uploads.received_file(request, handler, "Choose a file to add.")
        services.attachment_upload(
            referral_id=pk,
            actor=request.user,
            file=upload,
            original_name=upload.name,
            category=_category(request.POST.get("category", "")),
            title=request.POST.get("title", ""),
        )
    except Referral.DoesNotExist:
        raise Http404("No such case") from None
    except DomainError as exc:
        messages.error(request, f"The file was not added: {exc.detail}")
        return redirect(target)
    messages.success(request, "File added to the case.")
    return redirect(target)


def _category(value: str) -> str:
    return value if value in AttachmentCategory.values and value != AttachmentCategory.FAMILY_MEDIA else ""


@login_required
@require_GET
def attachment_file(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = attachment_for(request.user, pk, attachment_id)
    return read(request, request.user, attachment, poster=False)


@login_required
@require_GET
def attachment_poster(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = attachment_for(request.user, pk, attachment_id, poster=True)
    return read(request, request.user, attachment, poster=True)


def read(request, user, attachment: Attachment, *, poster: bool) -> HttpResponse:
    """Audit this read (every request: each seek of the player is one), then stream the file."""
    range_header = request.META.get("HTTP_RANGE", "")
    audit.record_event(
        user,
        AuditLog.Action.VIEW,
        "referrals.attachment",
        attachment.pk,
        patient_id=attachment.referral.patient_id,
        changes={"what": "poster" if poster else "file", **({"range": range_header[:100]} if range_header else {})},
    )
    if poster:
        name, content_type, size = attachment.poster.name, "image/jpeg", attachment.poster.size
    else:
        name, content_type, size = attachment.file.name, attachment.content_type, attachment.size
    return serving.stream(
        name,
        content_type=content_type,
        size=size,
        range_header=range_header,
        filename=attachment.original_name or attachment.file.name.rpartition("/")[2],
        inline=request.GET.get("download") != "1",
    )


@login_required
@require_POST
def upload_link_new(request: HttpRequest, pk: int) -> HttpResponse:
    """*Send the link* (`send`) to the parent or carer chosen (`guardian`), or show it once to copy
    (`copy`, or a bare POST)."""
    sending_it = bool(request.POST.get("send")) and not request.POST.get("copy")
    chosen = request.POST.get("guardian", "") if sending_it else ""
    try:
        if sending_it and not chosen:
            services.linkable_case(request.user, pk)  # who may, on which case, first: 404, 403, 409
            raise InvalidData({"guardian": "Choose who to send the link to, or show the link to copy."})
        if sending_it:
            sent = services.upload_link_send(
                referral_id=pk,
                actor=request.user,
                guardian=int_or_none(chosen) or 0,
                newest_seen=int_or_none(request.POST.get("newest_seen")),
            )
        else:
            link, token = services.upload_link_create(referral_id=pk, actor=request.user)
    except Referral.DoesNotExist:
        raise Http404("No such case") from None
    except LinkMadeMeanwhile as exc:
        messages.info(request, exc.detail)
        return redirect(reverse("case", args=[pk]) + WAITING_ANCHOR)
    except InvalidData as exc:  # a person not the child's, or one we cannot reach: the form again, nothing made
        referral = _case_or_404(request.user, pk)
        field = link_field(referral, request.user, chosen=chosen, errors=exc.errors.get("guardian", [exc.detail]))
        context = {"referral": referral, "link_field": field, "summary": field.summary()}
        return render(request, "referrals/attachments/link_form_page.html", context, status=exc.status)
    if sending_it:
        messages.success(request, sent_words(sent))
        return redirect(reverse("case", args=[pk]) + WAITING_ANCHOR)
    url = request.build_absolute_uri(reverse("family_upload", args=[token]))
    return render(
        request, "referrals/attachments/link_made.html", {"referral": link.referral, "link": link, "url": url}
    )


def sent_words(sent: services.Sent) -> str:
    until = formats.date_format(timezone.localtime(sent.link.expires_at), "j M Y H:i")
    how = sending.how_words(sent.channels)
    return f"Upload link sent to {sent.guardian.name} by {how}. It works once, until {until}."


@csrf_exempt  # as attachment_add: the checking handler first, then the CSRF check
def family_upload(request: HttpRequest, token: str) -> HttpResponse:
    handler = uploads.install(request) if request.method == "POST" else None
    return csrf_protect(_family)(request, token, handler)


def _family(request: HttpRequest, token: str, handler) -> HttpResponse:
    try:
        link = services.usable_link(token)
    except UploadLink.DoesNotExist:
        raise Http404("No such link") from None
    except LinkGone as exc:
        return render(request, "referrals/attachments/family_gone.html", {"detail": exc.detail}, status=410)
    if request.method != "POST":
        audit.record_event(
            None,
            AuditLog.Action.VIEW,
            "referrals.uploadlink",
            link.pk,
            patient_id=link.referral.patient_id,
            changes={"what": "family upload page"},
        )
        return _family_page(request, link)
    try:
        upload = uploads.received_file(request, handler, "Choose a video or photo to send.")
        services.family_upload(token=token, file=upload, original_name=upload.name, title=request.POST.get("title", ""))
    except LinkGone as exc:
        return render(request, "referrals/attachments/family_gone.html", {"detail": exc.detail}, status=410)
    except DomainError as exc:
        return _family_page(request, link, error=exc.detail, status=exc.status)
    return render(request, "referrals/attachments/family_done.html", {"first_name": link.referral.patient.given_name})


def _family_page(request, link: UploadLink, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {"first_name": link.referral.patient.given_name, "expires_at": link.expires_at, "error": error}
    return render(request, "referrals/attachments/family_upload.html", context, status=status)
