"""Cursor pagination: stable pages under inserts, and a cost that does not grow with page depth."""

from rest_framework.pagination import CursorPagination


class CarePathCursorPagination(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        """Each view names its order (`ordering`), e.g. newest referral first or soonest due first."""
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)
