"""What every page's layout needs: role-aware navigation and the unread notifications badge."""

from django.urls import reverse

from carepath.pathway import registry
from carepath.pathway.roles import Role, user_roles

ALL = None
# (url name, label, roles that see it; None = everyone signed in)
NAVIGATION = (
    ("my_work", "My work", ALL),
    ("referral_new", "New referral", {Role.PEDIATRICIAN, Role.ADMIN}),
    ("my_referrals", "My referrals", {Role.PEDIATRICIAN, Role.ADMIN}),
    ("mri_board", "MRI board", {Role.IMAGING_COORDINATOR, Role.NEURORADIOLOGIST, Role.NEUROLOGIST, Role.ADMIN}),
    ("mri_calendar", "MRI calendar", {Role.IMAGING_COORDINATOR, Role.NEURORADIOLOGIST, Role.ADMIN}),
    ("reading_queue", "Reading queue", {Role.NEURORADIOLOGIST, Role.ADMIN}),
    ("mdt_meetings", "MDT meetings", {Role.NEUROLOGIST, Role.NEUROSURGEON, Role.NEURORADIOLOGIST, Role.ADMIN}),
    ("dashboard", "Dashboard", {Role.NEUROLOGIST, Role.IMAGING_COORDINATOR, Role.ADMIN}),
)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from carepath.web.views import unread_notification_count

    roles = user_roles(user)
    current = request.resolver_match.url_name if request.resolver_match else ""
    items = [
        {"url": reverse(name), "label": label, "current": name == current}
        for name, label, allowed in NAVIGATION
        if allowed is ALL or roles & allowed
    ]
    return {
        "may_search": registry.may_search(user),  # the header's search box (issue 13 item 10)
        "nav_items": items,
        "nav_roles": sorted(Role(r).label for r in roles if r in Role.values),
        "unread_notifications": unread_notification_count(user),
    }
