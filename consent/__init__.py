"""Consent records, legal bases and the pure policy decision."""
