"""The pages carepath itself serves (docs/design.md §6): sign-in, my work, notifications. The apps' pages
are in referrals/urls.py and imaging/urls.py; carepath/urls.py includes all three."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from carepath.web import handover, signin, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="my_work", permanent=False), name="home"),
    path("login/", signin.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("work/", views.my_work, name="my_work"),
    path("work/<int:pk>/claim/", views.work_item_claim, name="work_item_claim"),
    path("work/<int:pk>/release/", views.work_item_release, name="work_item_release"),
    path("work/delegations/", handover.delegation_create, name="delegation_create"),
    path("work/delegations/<int:pk>/end/", handover.delegation_end, name="delegation_end"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/acknowledge/", views.notification_acknowledge, name="notification_acknowledge"),
]
