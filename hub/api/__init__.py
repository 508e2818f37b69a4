"""Thin routers and wire payloads; no business logic lives here."""
