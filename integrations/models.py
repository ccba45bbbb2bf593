"""The integrations' models, each defined in its part's own module and named here so Django finds them."""

from .fhir_in.models import PlacerOrder  # noqa: F401
