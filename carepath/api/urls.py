"""`/api/...` routes of the API plumbing (docs/design.md §5): tokens, worklist, notifications, schema and
docs. The apps' resources (referrals/api.py, imaging/api.py) are included by the root URLs
(carepath/urls.py) under `/api/v1/` before these, so this package never names the apps."""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from . import docs, handover, views
from .problems import not_found_view

router = SimpleRouter()
router.register("auth/tokens", views.TokenViewSet, basename="api-token")
router.register("worklist", views.WorklistViewSet, basename="api-worklist")
router.register("notifications", views.NotificationViewSet, basename="api-notification")
router.register("delegations", handover.DelegationViewSet, basename="api-delegation")

v1 = [
    path("auth/token/", views.TokenView.as_view(), name="api-token-obtain"),
    path("auth/token/revoke/", views.RevokeCurrentTokenView.as_view(), name="api-token-revoke-current"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", docs.SchemaView.as_view(), name="api-schema"),  # sign-in unless API_DOCS_PUBLIC
    path(
        "docs/",
        docs.DocsView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    re_path(r"^", not_found_view),
]
