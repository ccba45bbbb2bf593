"""Signing in with a password on the web and in the admin: one attempt limit for both doors.

Attempts are counted per account and per client address in shared counters (carepath/web/limits.py)
*before* the password is checked, so a burst of parallel guesses is counted in full; a locked
attempt never reaches the password hasher (a slow hash per guess is what let a few parallel guessers
slow everything down). A right password gives its attempt back.

A browser that has signed in to an account before carries a signed "device cookie" naming it; its
attempts for that account are limited by the account's lock only, not by its address's: an attacker
who locks a shared address (a hospital's NAT) does not lock out staff whose accounts are not
themselves under attack (docs/security.md, "Sign-in limits")."""

import math

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import views as auth_views
from django.core import signing
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from carepath.pathway import audit
from carepath.web import limits, middleware

DEVICE_COOKIE = "carepath_device"
DEVICE_SALT = "carepath.web.signin.device"
DEVICE_ACCOUNTS = 8  # accounts one browser remembers (a shared ward workstation)


def max_failures() -> int:
    return getattr(settings, "LOGIN_MAX_FAILURES", 5)


def lockout_seconds() -> int:
    return getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60)


def client_address(request: HttpRequest) -> str:
    # behind a declared proxy, the address it saw (docs/security.md, "Proxy and HTTPS")
    return middleware.client_address(request)


# --- device cookies ------------------------------------------------------------------------------
def _device_accounts(request: HttpRequest) -> list[str]:
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return []
    days = getattr(settings, "LOGIN_DEVICE_COOKIE_DAYS", 90)
    try:
        accounts = signing.loads(raw, salt=DEVICE_SALT, max_age=days * 86400)
    except signing.BadSignature:  # forged, altered or expired: an unknown browser
        return []
    return [a for a in accounts if isinstance(a, str)] if isinstance(accounts, list) else []


def trusted_device(request: HttpRequest, username: str) -> bool:
    """Has this browser signed in to `username` before (within `LOGIN_DEVICE_COOKIE_DAYS`)?"""
    return limits.account_key(username) in _device_accounts(request)


def remember_device(request: HttpRequest, response: HttpResponse, username: str) -> None:
    key = limits.account_key(username)
    accounts = [key, *(a for a in _device_accounts(request) if a != key)][:DEVICE_ACCOUNTS]
    days = getattr(settings, "LOGIN_DEVICE_COOKIE_DAYS", 90)
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(accounts, salt=DEVICE_SALT),
        max_age=days * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


# --- the attempt limit ---------------------------------------------------------------------------
def sign_in_attempts(request: HttpRequest, username: str) -> limits.Attempts:
    """Per account (guessing one password) and, four times as many, per address (trying many
    accounts), in windows of `LOGIN_LOCKOUT_SECONDS`; the web and the admin count together."""
    failures = max_failures()
    return limits.Attempts(
        "web",
        username=username,
        address=client_address(request),
        limits=(failures, failures * 4),
        seconds=lockout_seconds(),
        trusted=trusted_device(request, username),
    )


def locked_attempt(username: str) -> None:
    """Audit an attempt refused by the lock (its password never reaches `authenticate()`, whose
    `user_login_failed` signal audits the others): a failed sign-in, marked locked."""
    from carepath.models import AuditLog

    user_id = get_user_model().objects.filter(username=username[:150]).values_list("pk", flat=True).first()
    changes = {"username": username[:150], "locked": True}
    audit.record_event(None, AuditLog.Action.SIGN_IN_FAILED, "auth.user", user_id or "", changes=changes)


def refuse(form, wait: float) -> None:
    """Put the lock's message on `form` without validating it: validating an AuthenticationForm
    checks the password, which a locked attempt must never reach."""
    form._errors, form.cleaned_data = ErrorDict(), {}
    minutes = max(1, math.ceil(wait / 60))
    form.add_error(
        None,
        "Too many failed sign-in attempts. For your patients' safety this account is locked for "
        f"{minutes} more minute{'s' if minutes != 1 else ''}; ask an administrator if you need access sooner.",
    )


class ThrottledSignIn:
    """For a `LoginView`: count the attempt before the password is checked, answer 429 when locked."""

    def post(self, request, *args, **kwargs):
        self.attempt = sign_in_attempts(request, request.POST.get("username", ""))
        wait = self.attempt.begin()
        if wait is not None:
            locked_attempt(request.POST.get("username", ""))
            form = self.get_form()
            refuse(form, wait)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        self.attempt.succeeded()
        response = super().form_valid(form)
        remember_device(self.request, response, form.get_user().get_username())
        return response


class SignInView(ThrottledSignIn, auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class AdminSignInView(ThrottledSignIn, auth_views.LoginView):
    pass


def admin_sign_in(request: HttpRequest, extra_context=None) -> HttpResponse:
    """The admin's sign-in page (`admin.site.login`) with the same attempt limit as the web's; it is
    routed before the admin's own URLs (carepath/urls.py)."""
    site = admin.site
    if request.method == "GET" and site.has_permission(request):
        return site.login(request, extra_context)  # already signed in: the admin's redirect to its index
    from django.contrib.admin.forms import AdminAuthenticationForm

    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=site.name)
    context.update(extra_context or {})
    request.current_app = site.name
    return AdminSignInView.as_view(
        extra_context=context,
        authentication_form=site.login_form or AdminAuthenticationForm,
        template_name=site.login_template or "admin/login.html",
    )(request)
