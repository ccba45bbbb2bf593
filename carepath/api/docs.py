"""The OpenAPI schema and its docs page: open to anyone only where `API_DOCS_PUBLIC` says so (by
default in development, `DEBUG=true`); in production only to a signed-in caller (a bearer token or
a web session), since the schema maps every operation an attacker could try (docs/security.md,
"API schema and docs")."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.permissions import BasePermission


class DocsAccess(BasePermission):
    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


class SchemaView(SpectacularAPIView):
    permission_classes = [DocsAccess]  # anonymous: 401 problem+json with the bearer challenge


class DocsView(SpectacularSwaggerSplitView):
    """The page fetches the schema with the browser's session cookie. The split view: Swagger UI's
    start-up script is a request of its own (`?script`), not inline, under our Content-Security-Policy
    (docs/security.md, "Browser-side controls")."""

    permission_classes = [DocsAccess]

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())  # a page for people: the sign-in page
        return super().handle_exception(exc)
