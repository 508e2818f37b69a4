"""The explicit registry of sources: every `connectors/mappings/<source>.yaml`, validated and
cross-checked against the catalogue, as a dict keyed by source id.

A new ministry or facility is one more mapping file (in this folder, or in an extra folder an
operator names with `HUB_MAPPINGS_DIR`); nothing in the core changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from connectors.mapping import FieldMap, Mapping, RecordKind
from schemas.catalogue import Catalogue
from schemas.enrolment import EnrolmentStatus
from schemas.event import StatusEventType

MAPPINGS_DIR = Path(__file__).parent / "mappings"


class MappingError(Exception):
    """A mapping file is unusable; the message names the file and what is wrong."""


def _values(field: FieldMap | None) -> list[str]:
    """The canonical values a field can produce, when they are fixed (codes or a constant)."""
    if field is None:
        return []
    if field.value is not None:
        return [field.value]
    return list(field.codes.values()) if field.codes else []


def _check_against_catalogue(mapping: Mapping, catalogue: Catalogue) -> list[str]:
    problems = [
        f"owner {owner} is not an organisation in the catalogue"
        for owner in mapping.owners
        if owner not in catalogue.organisations
    ]
    allowed: dict[str, set[str]] = {
        "programme": set(catalogue.programmes),
        "attribute": set(catalogue.attributes),
        "status": {s.value for s in EnrolmentStatus},
        "type": {t.value for t in StatusEventType},
    }
    for name, known in allowed.items():
        for value in _values(mapping.fields.get(name)):
            if value not in known:
                problems.append(f"field {name} maps to '{value}', which is not a known {name}")
    if mapping.record is RecordKind.ENROLMENT:
        for value in _values(mapping.fields.get("programme")):
            programme = catalogue.programmes.get(value)
            owners = {programme.ministry, programme.operator} if programme else set()
            private = programme is not None and programme.ministry is None
            if programme and not private and not owners & set(mapping.owners):
                problems.append(
                    f"programme {value} belongs to {programme.ministry}, not to the source's "
                    f"owners {', '.join(mapping.owners)}"
                )
    return problems


def load_mapping(path: Path, catalogue: Catalogue) -> Mapping:
    """Read, validate and cross-check one mapping file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"{path.name}: cannot be read as YAML ({type(exc).__name__})") from None
    try:
        mapping = Mapping.model_validate(document)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise MappingError(f"{path.name}: {details}") from None
    if mapping.source != path.stem:
        raise MappingError(f"{path.name}: source '{mapping.source}' must match the file name")
    problems = _check_against_catalogue(mapping, catalogue)
    if problems:
        raise MappingError(f"{path.name}: {'; '.join(problems)}")
    return mapping


def load_mappings(
    catalogue: Catalogue, extra_directories: Iterable[Path] = ()
) -> dict[str, Mapping]:
    """All sources: the shipped mappings plus any in `extra_directories` (same rules)."""
    sources: dict[str, Mapping] = {}
    for directory in (MAPPINGS_DIR, *extra_directories):
        for path in sorted(directory.glob("*.yaml")):
            mapping = load_mapping(path, catalogue)
            if mapping.source in sources:
                raise MappingError(f"{path}: source '{mapping.source}' is defined twice")
            sources[mapping.source] = mapping
    return sources
