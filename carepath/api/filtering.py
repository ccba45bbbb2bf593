"""The list filters of docs/design.md §5: built for the filters a request sends, and compiled when they
are plain value filters.

- django-filter deep-copies every filter of a FilterSet and builds a form field for each on every
  request (~0.1 ms a filter). A filter that is not in the query string filters nothing, so the form
  is built with only the filters sent: the same queryset and the same errors, for less.
- A list whose queryset is a compiled page query (`carepath.api.pagination.PageQuery`: the referral list
  and the worklist on PostgreSQL) still validates the filters with their form, then applies them as
  one more compiled step when every filter sent is a plain value filter (a choice, a string, a
  date and time, no `method`): the SQL then depends only on which filters were sent, and the
  values are parameters (a multiple choice is one array parameter, `field = ANY(%s)`). Filters with a method (`overdue`,
  `assigned_to_me`) may read the clock or the user, which a compiled plan would freeze, so a
  request with one of them is filtered by the ORM as before.

The schema still lists every filter (drf-spectacular reads the view's full `filterset_class`);
tests/api/test_filtering.py compares both paths with django-filter's own result."""

import functools
from datetime import datetime

from django.db.models import F
from django_filters import filters
from django_filters.constants import EMPTY_VALUES
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation

from carepath.db.compiled import AnyOf

from .common import UTCDateTimeFilter
from .pagination import PageQuery

PLAIN_FILTERS = (filters.MultipleChoiceFilter, filters.ChoiceFilter, filters.CharFilter, UTCDateTimeFilter)


class GivenFiltersBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return None
        given = frozenset(name for name in filterset_class.base_filters if name in request.query_params)
        kwargs = self.get_filterset_kwargs(request, queryset, view)
        return only(filterset_class, given)(**kwargs)

    def filter_queryset(self, request, queryset, view):
        if not isinstance(queryset, PageQuery):
            return super().filter_queryset(request, queryset, view)
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise translate_validation(filterset.errors)
        plain = plain_values(filterset)
        if plain is None:
            return filterset.filter_queryset(queryset.orm())
        key, args = plain
        return queryset.refined((type(filterset), key), functools.partial(_apply, type(filterset), key), **args)


@functools.cache
def only(filterset_class, names: frozenset):
    """A subclass of `filterset_class` with only the filters `names` (made once per combination)."""
    if names == frozenset(filterset_class.base_filters):
        return filterset_class
    subclass = type(filterset_class.__name__, (filterset_class,), {"__module__": filterset_class.__module__})
    subclass.base_filters = {name: f for name, f in filterset_class.base_filters.items() if name in names}
    return subclass


def plain_values(filterset) -> tuple[tuple, dict] | None:
    """(key, args) for a validated filterset whose filters sent are all plain value filters: the key
    names each filter applied (and how); args hold the values. None otherwise."""
    key, args = [], {}
    for name, value in filterset.form.cleaned_data.items():
        if value in EMPTY_VALUES:
            continue  # django-filter skips it too
        f = filterset.filters[name]
        if type(f) not in PLAIN_FILTERS or f.method is not None or f.exclude or f.distinct:
            return None
        if isinstance(value, list | tuple):
            # MultipleChoiceFilter ORs `field = value` over the distinct values (in set order, which
            # differs between runs): several values are `field = ANY(values)`, one array parameter
            values = sorted(set(value))
            if f.conjoined or not f.always_filter or f.lookup_expr != "exact":
                return None
            if not all(isinstance(v, str) and v != f.null_value for v in values):
                return None
            # one value: the filter's own `field = %s`, which an index on (field, …, order) serves;
            # `field::text = ANY(…)` would not (PostgreSQL sorted 16,000 rows for a page of 50)
            key.append((name, ONE if len(values) == 1 else ANY))
            args[f"filter__{name}"] = values[0] if len(values) == 1 else values
        elif (isinstance(value, str) and value != getattr(f, "null_value", None)) or (
            isinstance(value, datetime) and value.tzinfo is not None
        ):
            key.append((name, None))
            args[f"filter__{name}"] = value
        else:
            return None
    return tuple(key), args


ONE, ANY = "one", "any"


def _apply(filterset_class, key: tuple, queryset, args: dict):
    """The filters of `key`, with the values in `args`: as django-filter applies them, or for a
    multiple choice as `field = ANY(values)` (the same rows; one SQL text for any number of values)."""
    filterset = filterset_class(data=None, queryset=queryset)
    for name, how in key:
        value, f = args[f"filter__{name}"], filterset.filters[name]
        if how is ANY:
            queryset = queryset.filter(AnyOf(F(f.field_name), value))
        else:
            queryset = f.filter(queryset, [value] if how is ONE else value)
    return queryset
