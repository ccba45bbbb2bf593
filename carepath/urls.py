from django.contrib import admin
from django.urls import include, path

from . import health

admin.site.site_header = "CarePath administration"
admin.site.site_title = "CarePath"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("carepath.api.urls")),
    path("", include("carepath.web_urls")),
]
