"""The integrations in the Django admin, one module per part."""

from .hl7 import admin as hl7_admin  # noqa: F401
