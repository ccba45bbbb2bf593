"""The attachment pages' addresses, included by referrals/urls.py. No file has an address of its own
outside these views: each read checks the case's access rule (referrals/attachments/views.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("cases/<int:pk>/attachments/", views.attachment_add, name="attachment_add"),
    path("cases/<int:pk>/attachments/<int:attachment_id>/", views.attachment_file, name="attachment_file"),
    path("cases/<int:pk>/attachments/<int:attachment_id>/poster/", views.attachment_poster, name="attachment_poster"),
    path("cases/<int:pk>/upload-links/", views.upload_link_new, name="upload_link_new"),
    path(
        "cases/<int:pk>/upload-links/<int:link_id>/withdraw/", views.upload_link_withdraw, name="upload_link_withdraw"
    ),
    path("family/upload/<str:token>/", views.family_upload, name="family_upload"),
]
