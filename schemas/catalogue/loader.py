"""Loading the catalogue: read every YAML file, validate entries into models, cross-check them,
and hash the result.

Start-up fails on any problem (rules are data and are reviewed like code). The hash covers the
validated content in RFC 8785 canonical JSON, so comments and formatting do not change it, and
every decision can record exactly which rule set it applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import rfc8785
from pydantic import BaseModel, ValidationError

from schemas.attribute import Attribute
from schemas.catalogue.errors import CatalogueError
from schemas.catalogue.source import RawEntry, read_entries
from schemas.duplicate_rule import DuplicateRule
from schemas.legal_basis import LegalBasis
from schemas.organisation import Organisation, OrganisationKind
from schemas.programme import Programme
from schemas.purpose import DataCategory, Purpose

M = TypeVar("M", bound=BaseModel)

#: The shipped catalogue: the YAML files beside this module.
DEFAULT_DIRECTORY = Path(__file__).resolve().parent

ORGANISATIONS = "organisations.yaml"
DATA_CATEGORIES = "data_categories.yaml"
PURPOSES = "purposes.yaml"
ATTRIBUTES = "attributes.yaml"
PROGRAMMES = "programmes.yaml"
LEGAL_BASES = "legal_bases.yaml"
DUPLICATE_RULES = "duplicate_rules.yaml"

#: File name -> top-level key, in loading order.
CATALOGUE_FILES: Mapping[str, str] = MappingProxyType(
    {
        ORGANISATIONS: "organisations",
        DATA_CATEGORIES: "data_categories",
        PURPOSES: "purposes",
        ATTRIBUTES: "attributes",
        PROGRAMMES: "programmes",
        LEGAL_BASES: "legal_bases",
        DUPLICATE_RULES: "duplicate_rules",
    }
)


@dataclass(frozen=True, slots=True)
class Entry(Generic[M]):
    """A validated entry together with where it came from (for cross-reference messages)."""

    raw: RawEntry
    model: M


@dataclass(frozen=True, slots=True)
class ParsedFiles:
    """Every file validated entry by entry, before cross-references are checked."""

    organisations: list[Entry[Organisation]]
    data_categories: list[Entry[DataCategory]]
    purposes: list[Entry[Purpose]]
    attributes: list[Entry[Attribute]]
    programmes: list[Entry[Programme]]
    legal_bases: list[Entry[LegalBasis]]
    duplicate_rules: list[Entry[DuplicateRule]]


@dataclass(frozen=True, slots=True, eq=False)
class Catalogue:
    """The validated catalogue. Mappings are read-only and keep file order."""

    organisations: Mapping[str, Organisation]
    programmes: Mapping[str, Programme]
    attributes: Mapping[str, Attribute]
    data_categories: Mapping[str, DataCategory]
    purposes: Mapping[str, Purpose]
    legal_bases: Mapping[str, LegalBasis]
    duplicate_rules: tuple[DuplicateRule, ...]
    hash: str
    """SHA-256 (hex) of the canonical JSON of all validated content: the rule-set hash."""
    file_hashes: Mapping[str, str]
    """SHA-256 (hex) of each file's validated content, keyed by file name."""

    @property
    def duplicate_rules_hash(self) -> str:
        """The hash of the duplicate rules alone, recorded by duplicate checks."""
        return self.file_hashes[DUPLICATE_RULES]

    def ministries(self) -> tuple[Organisation, ...]:
        """Organisations of kind ``ministry``."""
        return tuple(o for o in self.organisations.values() if o.kind is OrganisationKind.MINISTRY)

    def programmes_of(self, organisation: str) -> tuple[Programme, ...]:
        """Programmes the organisation owns (as ministry) or operates."""
        return tuple(
            p for p in self.programmes.values() if organisation in (p.ministry, p.operator)
        )

    def rules_for(self, programme: str) -> tuple[DuplicateRule, ...]:
        """Duplicate rules with a side that matches the programme (by code or category)."""
        category = self.programmes[programme].category
        return tuple(
            rule
            for rule in self.duplicate_rules
            if any(
                side.programme == programme or side.category is category
                for side in (rule.a, rule.b)
            )
        )


def _validate(entries: list[RawEntry], model: type[M], problems: list[str]) -> list[Entry[M]]:
    valid: list[Entry[M]] = []
    for raw in entries:
        try:
            valid.append(Entry(raw=raw, model=model.model_validate(raw.data)))
        except ValidationError as exc:
            problems.append(raw.problem(_describe(exc)))
    return valid


def _describe(exc: ValidationError) -> str:
    """Pydantic errors as ``field.path: message`` without echoing input values."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"])
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(parts)


def parse_files(directory: Path) -> ParsedFiles:
    """Read and validate every file; raise one ``CatalogueError`` listing all problems."""
    raw: dict[str, list[RawEntry]] = {}
    problems: list[str] = []
    for name, key in CATALOGUE_FILES.items():
        try:
            raw[name] = read_entries(directory, name, key)
        except CatalogueError as exc:
            problems.extend(exc.problems)
            raw[name] = []
    parsed = ParsedFiles(
        organisations=_validate(raw[ORGANISATIONS], Organisation, problems),
        data_categories=_validate(raw[DATA_CATEGORIES], DataCategory, problems),
        purposes=_validate(raw[PURPOSES], Purpose, problems),
        attributes=_validate(raw[ATTRIBUTES], Attribute, problems),
        programmes=_validate(raw[PROGRAMMES], Programme, problems),
        legal_bases=_validate(raw[LEGAL_BASES], LegalBasis, problems),
        duplicate_rules=_validate(raw[DUPLICATE_RULES], DuplicateRule, problems),
    )
    if problems:
        raise CatalogueError(problems)
    return parsed


def _digest(content: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def _dump(entries: list[Entry[M]]) -> list[Any]:
    return [entry.model.model_dump(mode="json") for entry in entries]


def _by_code(entries: list[Entry[M]], key: str = "code") -> Mapping[str, M]:
    return MappingProxyType({getattr(e.model, key): e.model for e in entries})


def build(parsed: ParsedFiles) -> Catalogue:
    """Assemble and hash a catalogue from files whose cross-references have been checked."""
    content = {
        CATALOGUE_FILES[ORGANISATIONS]: _dump(parsed.organisations),
        CATALOGUE_FILES[DATA_CATEGORIES]: _dump(parsed.data_categories),
        CATALOGUE_FILES[PURPOSES]: _dump(parsed.purposes),
        CATALOGUE_FILES[ATTRIBUTES]: _dump(parsed.attributes),
        CATALOGUE_FILES[PROGRAMMES]: _dump(parsed.programmes),
        CATALOGUE_FILES[LEGAL_BASES]: _dump(parsed.legal_bases),
        CATALOGUE_FILES[DUPLICATE_RULES]: _dump(parsed.duplicate_rules),
    }
    file_hashes = {name: _digest({key: content[key]}) for name, key in CATALOGUE_FILES.items()}
    return Catalogue(
        organisations=_by_code(parsed.organisations),
        programmes=_by_code(parsed.programmes),
        attributes=_by_code(parsed.attributes),
        data_categories=_by_code(parsed.data_categories),
        purposes=_by_code(parsed.purposes),
        legal_bases=_by_code(parsed.legal_bases),
        duplicate_rules=tuple(e.model for e in parsed.duplicate_rules),
        hash=_digest(content),
        file_hashes=MappingProxyType(file_hashes),
    )
