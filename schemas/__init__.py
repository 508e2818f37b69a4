"""Canonical records of the hub: pure pydantic models, no I/O.

The catalogue (programmes, attributes, purposes, legal bases, duplicate rules) lives as YAML in
``schemas/catalogue/`` and is loaded with :func:`schemas.catalogue.load_catalogue`.
"""
