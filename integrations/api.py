"""The integrations' API routes, included under /api/v1/ by the root URLs."""

urlpatterns = []
