"""Messages with other systems, both ways: signed webhooks and FHIR subscriptions out, FHIR orders
and HL7 v2 in (docs/integrations.md). The top of the app stack: it may import `referrals`, `imaging`
and `carepath`; nothing but the project wiring imports it."""
