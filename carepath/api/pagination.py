"""Cursor pagination by key (keyset): stable pages under inserts, a cost that does not grow with page
depth, and every item met once whichever way a client walks.

A list's order ends with `id` (added when the view's order does not), so no two items share a place.
A cursor holds the place of the item it starts after, every value of the order (`p`, a JSON list),
and the direction (`r=1`: backwards); a page is the items after that place: `(a, id) > (va, vid)`,
written `a >= va AND (a > va OR (a = va AND id > vid))` so the index on the order serves it. DRF's
own cursor held only the first value plus an offset into the items sharing it, and a walk back
through many items with the same value (work items with no due time) skipped some.

The referral list and the worklist page through a compiled query (`CompiledPages`): the paginator
orders, places and slices a stand-in (`PageQuery`), which runs as one prepared statement per
shape, order and whether it has a place; `LIMIT` and `OFFSET` are parameters, so every page size
and every place share one statement.
"""

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, Q, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination

from carepath.db.compiled import CompiledValues

TIE_BREAKER = "id"


def order_with_id(ordering) -> tuple[str, ...]:
    """The view's order, ending with `id` in the first field's direction when it does not already."""
    ordering = (ordering,) if isinstance(ordering, str) else tuple(ordering)
    if ordering[-1].lstrip("-") == TIE_BREAKER:
        return ordering
    return (*ordering, ("-" if ordering[0].startswith("-") else "") + TIE_BREAKER)


def reversed_order(ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)


def after(ordering: tuple[str, ...], place) -> Q:
    """The items that come after `place` (one value per field of `ordering`) in that order."""
    names = [name.lstrip("-") for name in ordering]
    ops = ["lt" if name.startswith("-") else "gt" for name in ordering]
    later = (
        Q(**{name: value for name, value in zip(names[:i], place, strict=False)}, **{f"{names[i]}__{ops[i]}": place[i]})
        for i in range(len(names))
    )
    if len(names) == 1:
        return next(later)
    # the redundant first test is the index's range: PostgreSQL starts the scan at the place
    return Q(**{f"{names[0]}__{ops[0]}e": place[0]}) & reduce(or_, later)


class CarePathCursorPagination(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-id"

    def paginate_queryset(self, queryset, request, view=None):
        """A cursor not issued here (undecodable, or a place that is not a value of the order, forged
        or mangled) is DRF's "Invalid cursor" 404, like any other undecodable cursor."""
        self.request, self.base_url = request, request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.ordering = order_with_id(getattr(view, "ordering", None) or self.ordering)
        self.cursor = self.decode_cursor(request)
        place = self._place(self.cursor)
        backwards = bool(self.cursor and self.cursor.reverse)
        walk = reversed_order(self.ordering) if backwards else self.ordering
        queryset = queryset.order_by(*walk)
        try:
            if place is not None:
                placed = isinstance(queryset, PageQuery)
                queryset = queryset.after(place) if placed else queryset.filter(after(walk, place))
            rows = list(queryset[0 : self.page_size + 1])
        except (ValidationError, ValueError, TypeError):
            if place is None:
                raise
            raise NotFound(self.invalid_cursor_message) from None
        more, self.page = len(rows) > self.page_size, rows[: self.page_size]
        if backwards:
            self.page.reverse()
        # a cursor was issued from a page on its far side: there is more that way
        self.has_next = more if not backwards else True
        self.has_previous = more if backwards else place is not None
        self.display_page_controls = (self.has_previous or self.has_next) and self.template is not None
        return self.page

    def _place(self, cursor: Cursor | None) -> list | None:
        if cursor is None or cursor.position is None:
            return None
        try:
            place = json.loads(cursor.position)
        except ValueError:
            raise NotFound(self.invalid_cursor_message) from None
        if not (
            isinstance(place, list)
            and len(place) == len(self.ordering)
            and all(isinstance(v, int | str) and not isinstance(v, bool) for v in place)
        ):
            raise NotFound(self.invalid_cursor_message)
        return place

    def get_next_link(self):
        if not self.has_next:
            return None
        return self._link(self.page[-1] if self.page else None, backwards=False)

    def get_previous_link(self):
        if not self.has_previous:
            return None
        return self._link(self.page[0] if self.page else None, backwards=True)

    def _link(self, item, *, backwards: bool) -> str:
        """The cursor of the page after (or before) `item`; with no item (an empty page), the place
        the request started from."""
        if item is None:
            position = self.cursor.position
        else:
            position = json.dumps(
                [_plain(_value(item, name.lstrip("-"))) for name in self.ordering], separators=(",", ":")
            )
        return self.encode_cursor(Cursor(offset=0, reverse=backwards, position=position))


def _value(item, name: str):
    return item[name] if isinstance(item, dict) else getattr(item, name)


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


# --- compiled pages -------------------------------------------------------------------------------
class CompiledPages:
    """The query of a cursor-paginated list page, compiled like `CompiledValues`: `build(**args)` is
    the list's `.values()` queryset; `queryset(shape, **args)` stands in for it where the paginator
    orders it, places it after the cursor's item and slices it, and runs the result as one prepared
    query: one plan per shape, order, place or none and `refined` step (a list's filters,
    carepath/api/filtering.py), whatever the page size or place. On PostgreSQL; elsewhere the ORM
    builds the page as usual."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet]):
        self.model, self.build = model, build
        self._plans: dict[tuple, CompiledValues] = {}
        self._fields: dict[str, object] = {}

    def queryset(self, shape: Hashable, **args) -> "PageQuery | QuerySet":
        """The stand-in on PostgreSQL; elsewhere (SQLite, the demo) the ORM's queryset itself."""
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            return self.build(**args)
        return PageQuery(self, shape, args, base=tuple(args))

    def field(self, name: str, args: dict):
        """The model field or annotation output field a page is ordered by."""
        if name not in self._fields:
            annotations = self.build(**args).query.annotations
            self._fields[name] = (
                annotations[name].output_field if name in annotations else self.model._meta.get_field(name)
            )
        return self._fields[name]

    def _compiled(self, page: "PageQuery") -> CompiledValues:
        placed = page.place is not None
        key = (page.ordering, placed, page.refine_key)
        if key not in self._plans:
            base, refine, ordering = page.base, page.refine, page.ordering  # not the call's values

            def build(**args):
                queryset = self.build(**{name: args[name] for name in base})
                if refine is not None:
                    queryset = refine(queryset, args)
                queryset = queryset.order_by(*ordering)
                if placed:
                    queryset = queryset.filter(after(ordering, [args[f"place_{i}"] for i in range(len(ordering))]))
                return queryset

            self._plans[key] = CompiledValues(build, windowed=True)
        return self._plans[key]


@dataclass(frozen=True)
class PageQuery:
    """What `CarePathCursorPagination` asks of a queryset: `order_by`, `after` the cursor's place, a
    slice, and iteration."""

    pages: CompiledPages
    shape: Hashable
    args: dict
    base: tuple = ()  # the names of `build`'s arguments in `args`
    refine_key: Hashable = None
    refine: Callable | None = None
    ordering: tuple = ()
    place: tuple | None = None
    window: tuple = (None, None)

    @property
    def model(self):
        return self.pages.model

    def orm(self) -> QuerySet:
        """The list's queryset, built by the ORM (for what cannot be compiled, e.g. some filters)."""
        return self.pages.build(**{name: self.args[name] for name in self.base})

    def refined(self, key: Hashable, refine: Callable, **args) -> "PageQuery":
        """One more step, `refine(queryset, args)`, whose SQL is the same for every call with this
        `key`; its values are `args` (ids, strings, datetimes), substituted like the others."""
        if self.refine is not None or set(args) & set(self.args):
            raise TypeError("a page query takes one refine step, with arguments of its own names")
        return replace(self, refine_key=key, refine=refine, args={**self.args, **args})

    def order_by(self, *ordering) -> "PageQuery":
        return replace(self, ordering=ordering)

    def after(self, place) -> "PageQuery":
        return replace(self, place=tuple(place))

    def __getitem__(self, window: slice) -> "PageQuery":
        return replace(self, window=(window.start, window.stop))

    def __iter__(self):
        start, stop = self.window
        if start is None or stop is None or not 0 <= start < stop:
            raise TypeError("a page query is read in a window [offset:offset + n]")
        args = dict(self.args)
        if self.place is not None:
            args.update(
                (f"place_{i}", self._value(name, value))
                for i, (name, value) in enumerate(zip(self.ordering, self.place, strict=True))
            )
        return iter(self.pages._compiled(self).rows(self.shape, window=(start, stop - start), **args))

    def _value(self, name: str, value):
        """A value of the cursor's place as its field's, converted as the ORM's filter would."""
        field = self.pages.field(name.lstrip("-"), self.args)
        return field.get_prep_value(field.to_python(value))
