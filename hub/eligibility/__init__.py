"""Eligibility: verification, benefits and recommendations (issue 5)."""
