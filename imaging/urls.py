"""The imaging app's pages (docs/design.md §6), included by the root URLs (carepath/urls.py).
Its API routes are in imaging/api.py, included under `/api/v1/` the same way."""

from django.urls import path

from . import views
from .capacity import views as capacity

urlpatterns = [
    path("mri/board/", views.mri_board, name="mri_board"),
    path("mri/reading/", views.reading_queue, name="reading_queue"),
    path("mri/reading/<int:pk>/", views.reading, name="reading"),
    path("mri/waiting/", capacity.waiting_list, name="mri_waiting_list"),
    path("mri/calendar/", capacity.mri_calendar, name="mri_calendar"),
    path("mri/scanners/<int:pk>/calendar.ics", capacity.scanner_feed, name="scanner_feed"),
]
