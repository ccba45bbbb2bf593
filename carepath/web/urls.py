"""Web UI routes (docs/design.md §6)."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from carepath.web import signin, views
from imaging import views as imaging_views
from referrals import printing as referral_printing
from referrals import views as referral_views
from referrals.mine import my_referrals
from referrals.search import search_view

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="my_work", permanent=False), name="home"),
    path("login/", signin.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("work/", views.my_work, name="my_work"),
    path("work/<int:pk>/claim/", views.work_item_claim, name="work_item_claim"),
    path("work/<int:pk>/release/", views.work_item_release, name="work_item_release"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/acknowledge/", views.notification_acknowledge, name="notification_acknowledge"),
    path("referrals/new/", referral_views.referral_new, name="referral_new"),
    path("referrals/mine/", my_referrals, name="my_referrals"),
    path("search/", search_view, name="search"),
    path("cases/<int:pk>/", referral_views.case, name="case"),
    path("cases/<int:pk>/print/summary/", referral_printing.case_summary, name="case_print_summary"),
    path("cases/<int:pk>/print/letter/", referral_printing.outcome_letter, name="case_print_letter"),
    path("dashboard/", referral_views.dashboard_view, name="dashboard"),
    path("mri/board/", imaging_views.mri_board, name="mri_board"),
    path("mri/reading/", imaging_views.reading_queue, name="reading_queue"),
    path("mri/reading/<int:pk>/", imaging_views.reading, name="reading"),
]
