from django.contrib import admin
from django.urls import include, path

from carepath.web import signin

from . import health

admin.site.site_header = "CarePath administration"
admin.site.site_title = "CarePath"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/", include("carepath.api.urls")),  # before the admin: tried first on every API request
    path("admin/login/", signin.admin_sign_in, name="admin_sign_in"),  # the web's attempt limit
    path("admin/", admin.site.urls),
    path("", include("carepath.web.urls")),
]
