"""The catalogue: programmes, attributes, data categories, purposes, legal bases and duplicate
rules, kept as reviewed YAML beside this module and validated into models at start-up.

Public entry point::

    from schemas.catalogue import load_catalogue, Catalogue, CatalogueError
"""

from __future__ import annotations

from pathlib import Path

from schemas.catalogue.errors import CatalogueError
from schemas.catalogue.loader import (
    CATALOGUE_FILES,
    DEFAULT_DIRECTORY,
    Catalogue,
    build,
    parse_files,
)
from schemas.catalogue.references import check_references

__all__ = ["CATALOGUE_FILES", "Catalogue", "CatalogueError", "load_catalogue"]


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Load, validate and hash the catalogue in ``directory`` (default: the shipped one).

    Raises ``CatalogueError`` naming the file, entry and line of every problem found.
    """
    parsed = parse_files(DEFAULT_DIRECTORY if directory is None else Path(directory))
    problems = check_references(parsed)
    if problems:
        raise CatalogueError(problems)
    return build(parsed)
