"""Outbound webhooks per Standard Webhooks (docs/integrations.md, "Webhooks")."""
