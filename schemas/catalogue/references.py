"""Cross-reference checks between catalogue files, and the invariants the consent policy
relies on.

Each file is valid on its own before these run; here we check that codes are unique, that every
reference resolves, and that no statutory basis covers what the law leaves to consent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from schemas.attribute import Attribute, AttributeValueType
from schemas.catalogue.loader import (
    ATTRIBUTES,
    DATA_CATEGORIES,
    ORGANISATIONS,
    PROGRAMMES,
    PURPOSES,
    Entry,
    ParsedFiles,
)
from schemas.catalogue.source import RawEntry
from schemas.organisation import (
    PROGRAMME_OPERATOR_KINDS,
    PROGRAMME_OWNER_KINDS,
    Organisation,
    OrganisationKind,
)
from schemas.programme import (
    INCOME_BAND_ATTRIBUTE,
    AttributeInRequirement,
    AttributeRequirement,
    IncomeBandRequirement,
    Programme,
    iter_requirements,
)

#: Organisation kinds that act only on the person's written consent (DOMAIN: sharing with
#: private bodies rests on the 개인정보 수집·이용 및 제3자 제공 동의서); no statute may list them.
CONSENT_ONLY_KINDS = frozenset({OrganisationKind.WELFARE_CENTRE})

#: Data categories shared only under consent (case records), whatever the requester.
CONSENT_ONLY_CATEGORY_PREFIX = "case."


def _index(entries: Iterable[Entry[Any]], key: str, problems: list[str]) -> dict[str, int]:
    """Code -> entry number; reports repeated codes."""
    seen: dict[str, int] = {}
    for entry in entries:
        code = getattr(entry.model, key)
        if code in seen:
            problems.append(
                entry.raw.problem(f"duplicate {key} '{code}' (first defined in entry {seen[code]})")
            )
        else:
            seen[code] = entry.raw.index
    return seen


def _organisations(parsed: ParsedFiles, problems: list[str]) -> dict[str, Organisation]:
    orgs = {e.model.code: e.model for e in parsed.organisations}
    for entry in parsed.organisations:
        parent = entry.model.parent
        if parent is None:
            continue
        if parent not in orgs:
            problems.append(
                entry.raw.problem(f"parent '{parent}' is not an organisation in {ORGANISATIONS}")
            )
            continue
        chain = [entry.model.code]
        while parent is not None and parent in orgs and parent not in chain:
            chain.append(parent)
            parent = orgs[parent].parent
        if parent in chain:
            problems.append(entry.raw.problem(f"parent chain loops: {' -> '.join(chain)}"))
    return orgs


def _organisation_ref(
    raw: RawEntry,
    field: str,
    code: str | None,
    orgs: Mapping[str, Organisation],
    kinds: frozenset[OrganisationKind],
    problems: list[str],
) -> None:
    if code is None:
        return
    if code not in orgs:
        problems.append(raw.problem(f"{field} '{code}' is not an organisation in {ORGANISATIONS}"))
    elif orgs[code].kind not in kinds:
        allowed = ", ".join(sorted(k.value for k in kinds))
        problems.append(
            raw.problem(f"{field} '{code}' is of kind {orgs[code].kind.value}; expected {allowed}")
        )


def _requirement_problems(programme: Programme, attributes: Mapping[str, Attribute]) -> list[str]:
    """Requirements must name defined attributes and compare them with well-typed values."""
    found: list[str] = []
    for code in sorted(programme.attribute_codes()):
        if code not in attributes:
            found.append(f"attribute '{code}' is not defined in {ATTRIBUTES}")
    for conferred in programme.confers:
        attribute = attributes.get(conferred.attribute)
        if attribute is not None and not attribute.accepts(conferred.value):
            found.append(
                f"confers '{conferred.attribute}' = {conferred.value!r}, which that "
                f"{attribute.value_type.value} attribute does not accept"
            )
    for requirement in iter_requirements(programme.requirements):
        if isinstance(requirement, AttributeRequirement):
            attribute = attributes.get(requirement.attribute)
            if attribute is not None and not attribute.accepts(requirement.equals):
                found.append(
                    f"requirement on '{requirement.attribute}' compares a "
                    f"{attribute.value_type.value} attribute with {requirement.equals!r}"
                )
        elif isinstance(requirement, AttributeInRequirement):
            attribute = attributes.get(requirement.attribute)
            if attribute is None:
                continue
            if attribute.value_type is not AttributeValueType.ENUM:
                found.append(f"attribute_in needs an enum attribute, '{attribute.code}' is not")
            else:
                unknown = sorted(set(requirement.values) - set(attribute.values))
                if unknown:
                    found.append(f"'{attribute.code}' has no value(s) {', '.join(unknown)}")
        elif isinstance(requirement, IncomeBandRequirement):
            attribute = attributes.get(INCOME_BAND_ATTRIBUTE)
            if attribute is not None and attribute.value_type is not AttributeValueType.BAND:
                found.append(f"'{INCOME_BAND_ATTRIBUTE}' must be a band attribute")
    return found


def check_references(parsed: ParsedFiles) -> list[str]:
    """Every cross-reference problem of the catalogue, in file order."""
    problems: list[str] = []
    for entries, key in (
        (parsed.organisations, "code"),
        (parsed.data_categories, "code"),
        (parsed.purposes, "code"),
        (parsed.attributes, "code"),
        (parsed.programmes, "code"),
        (parsed.legal_bases, "code"),
        (parsed.duplicate_rules, "id"),
    ):
        _index(entries, key, problems)
    orgs = _organisations(parsed, problems)
    categories = {e.model.code: e.model for e in parsed.data_categories}
    purposes = {e.model.code for e in parsed.purposes}
    attributes = {e.model.code: e.model for e in parsed.attributes}
    programmes = {e.model.code: e.model for e in parsed.programmes}

    for a in parsed.attributes:
        if a.model.data_category not in categories:
            problems.append(
                a.raw.problem(
                    f"data_category '{a.model.data_category}' is not defined in {DATA_CATEGORIES}"
                )
            )
        _organisation_ref(
            a.raw, "source_ministry", a.model.source_ministry, orgs, PROGRAMME_OWNER_KINDS, problems
        )

    for p in parsed.programmes:
        _organisation_ref(
            p.raw, "ministry", p.model.ministry, orgs, PROGRAMME_OWNER_KINDS, problems
        )
        _organisation_ref(
            p.raw, "operator", p.model.operator, orgs, PROGRAMME_OPERATOR_KINDS, problems
        )
        problems.extend(p.raw.problem(m) for m in _requirement_problems(p.model, attributes))

    for b in parsed.legal_bases:
        for purpose in b.model.purposes:
            if purpose not in purposes:
                problems.append(b.raw.problem(f"purpose '{purpose}' is not defined in {PURPOSES}"))
        for code in b.model.data_categories:
            category = categories.get(code)
            if category is None:
                problems.append(
                    b.raw.problem(f"data category '{code}' is not defined in {DATA_CATEGORIES}")
                )
            elif category.sensitive:
                problems.append(
                    b.raw.problem(
                        f"data category '{code}' is sensitive (PIPA §23) and needs its own "
                        "consent; a statutory basis may not release it"
                    )
                )
            elif code.startswith(CONSENT_ONLY_CATEGORY_PREFIX):
                problems.append(
                    b.raw.problem(f"data category '{code}' is shared only under consent")
                )
        for kind in b.model.organisation_kinds:
            if kind in CONSENT_ONLY_KINDS:
                problems.append(
                    b.raw.problem(f"organisation kind {kind.value} acts only under consent")
                )

    used_categories = {p.category for p in programmes.values()}
    pairs: dict[object, str] = {}
    for r in parsed.duplicate_rules:
        for side_name, side in (("a", r.model.a), ("b", r.model.b)):
            if side.programme is not None and side.programme not in programmes:
                problems.append(
                    r.raw.problem(
                        f"{side_name}: programme '{side.programme}' is not defined in {PROGRAMMES}"
                    )
                )
            if side.category is not None and side.category not in used_categories:
                problems.append(
                    r.raw.problem(f"{side_name}: category '{side.category.value}' has no programme")
                )
        first = pairs.setdefault(r.model.pair_key, r.model.id)
        if first != r.model.id:
            problems.append(r.raw.problem(f"same pair and scope as {first}; merge the two rules"))
    return problems
