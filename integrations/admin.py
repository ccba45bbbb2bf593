"""The integrations in the Django admin, one module per part."""

from .fhir_in import admin as fhir_in_admin  # noqa: F401
from .hl7 import admin as hl7_admin  # noqa: F401
