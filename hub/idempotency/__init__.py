"""Idempotency keys for creating POSTs (DESIGN.md; draft-ietf-httpapi-idempotency-key-header)."""
