"""The integrations' models, each defined in its part's own module and named here so Django finds them."""

from .fhir_in.models import PlacerOrder  # noqa: F401
from .hl7.models import InboundMessage, OutboundMessage, RisOrder, ScannerCode  # noqa: F401
from .outbox.models import Event, EventType, OutboundDelivery  # noqa: F401
from .subscriptions.models import FhirSubscription  # noqa: F401
from .webhooks.models import WebhookEndpoint  # noqa: F401
