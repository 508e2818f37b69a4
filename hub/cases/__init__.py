"""Integrated case management (통합사례관리): case records shared under consent (issue 8)."""
