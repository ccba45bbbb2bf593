"""The outbox: events written in the same transaction as the change they describe, and the outbound
deliveries (webhooks, FHIR notifications) sent from them (docs/integrations.md, "The outbox")."""
