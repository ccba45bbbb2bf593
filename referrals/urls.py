"""The referral app's pages (docs/design.md §6), included by the root URLs (carepath/urls.py).
Its API routes are in referrals/api.py, included under `/api/v1/` the same way."""

from django.urls import include, path

from . import new_referral, printing, views
from .mine import my_referrals
from .search import search_view

urlpatterns = [
    path("referrals/new/", new_referral.referral_new, name="referral_new"),
    path("referrals/mine/", my_referrals, name="my_referrals"),
    path("search/", search_view, name="search"),
    path("cases/<int:pk>/", views.case, name="case"),
    path("cases/<int:pk>/print/summary/", printing.case_summary, name="case_print_summary"),
    path("cases/<int:pk>/print/letter/", printing.outcome_letter, name="case_print_letter"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("", include("referrals.mdt.urls")),
    path("", include("referrals.attachments.urls")),
]
