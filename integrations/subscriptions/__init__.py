"""FHIR R4 topic-based Subscriptions (Subscriptions R5 Backport IG), docs/integrations.md,
"FHIR Subscriptions"."""
