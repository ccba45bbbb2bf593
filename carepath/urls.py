from django.contrib import admin
from django.urls import include, path

from carepath.web import signin

from . import health

admin.site.site_header = "CarePath administration"
admin.site.site_title = "CarePath"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The API before the admin: tried first on every API request; the pathway's resources first of all
    # (Django tries the patterns in order), then the plumbing's routes and its problem+json 404.
    path("api/v1/", include("referrals.api")),
    path("api/v1/", include("imaging.api")),
    path("api/v1/", include("integrations.api")),
    path("api/", include("carepath.api.urls")),
    path("admin/login/", signin.admin_sign_in, name="admin_sign_in"),  # the web's attempt limit
    path("admin/", admin.site.urls),
    path("", include("carepath.web.urls")),
    path("", include("referrals.urls")),
    path("", include("imaging.urls")),
]
