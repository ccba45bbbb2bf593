"""Cursor pagination: stable pages under inserts, and a cost that does not grow with page depth."""

from django.core.exceptions import ValidationError
from rest_framework.exceptions import NotFound
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

    def paginate_queryset(self, queryset, request, view=None):
        """A cursor whose position is not a value of the ordering field (forged or mangled) is DRF's
        "Invalid cursor" 404, like any other undecodable cursor, not a 500 from the ORM."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValidationError, ValueError, TypeError):
            if self.cursor_query_param not in request.query_params:
                raise
            raise NotFound(self.invalid_cursor_message) from None
