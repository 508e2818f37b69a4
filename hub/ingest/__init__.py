"""Ingestion: source files in, canonical records stored, every rejected row explained."""
