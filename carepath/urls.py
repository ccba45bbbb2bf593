from django.contrib import admin
from django.urls import include, path

from . import health

admin.site.site_header = "CarePath administration"
admin.site.site_title = "CarePath"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/", include("carepath.api.urls")),  # before the admin: tried first on every API request
    path("admin/", admin.site.urls),
    path("", include("carepath.web_urls")),
]
