"""`/api/...` routes. Filled in by the REST API work (issue 3)."""

urlpatterns: list = []
