"""Canonical records held by the hub: persons, enrolments and attribute facts."""
