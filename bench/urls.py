from django.http import JsonResponse
from django.urls import include, path


def bare(request):
    """The floor for an HTTP request through Django: no auth, no database, a small JSON body."""
    return JsonResponse({"id": 1, "state": "triaged", "version": 2})


def bare_row(request, pk: int):
    """A bare view that reads the case's row: one query, no auth, no serializer, no audit."""
    from referrals.models import Referral

    row = Referral.objects.filter(pk=pk).values("id", "state", "version", "priority", "reason", "updated_at").first()
    return JsonResponse(row or {}, status=200 if row else 404)


urlpatterns = [path("bench/bare/", bare), path("bench/bare/<int:pk>/", bare_row), path("", include("carepath.urls"))]
