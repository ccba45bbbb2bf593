from django.http import JsonResponse
from django.urls import include, path


def bare(request):
    """The floor for an HTTP request through Django: no auth, no database, a small JSON body."""
    return JsonResponse({"id": 1, "state": "triaged", "version": 2})


urlpatterns = [path("bench/bare/", bare), path("", include("carepath.urls"))]
