"""REST API plumbing (docs/design.md §5): auth tokens, problem+json errors, pagination, idempotency."""
