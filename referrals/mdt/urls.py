"""MDT pages and the follow-up's case actions (included by referrals/urls.py)."""

from django.urls import path

from ..followup import views as followup
from . import views

urlpatterns = [
    path("mdt/", views.meetings, name="mdt_meetings"),
    path("mdt/<int:pk>/", views.meeting, name="mdt_meeting"),
    path("mdt/<int:pk>/print/", views.meeting_print, name="mdt_meeting_print"),
    path("cases/<int:pk>/treatments/", followup.treatment_new, name="case_treatment_new"),
    path("follow-up-visits/<int:pk>/record/", followup.visit_record, name="follow_up_visit_record"),
]
