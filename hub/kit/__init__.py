"""Shared kernel: the SQLAlchemy base, domain errors, clock and identifiers."""
