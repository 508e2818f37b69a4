"""Duplicate-benefit checks: the catalogue's rules at application, on ingestion and as a scan."""
