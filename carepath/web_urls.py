"""Web UI routes (DESIGN.md §6). Filled in by the web UI work (issue 5)."""

urlpatterns: list = []
