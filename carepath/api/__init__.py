"""REST API plumbing (DESIGN.md §5): auth tokens, problem+json errors, pagination, idempotency."""
