"""The duplicate rules as the scan, the ingestion hook and the application check use them.

Pure: no I/O. A rule's content is hashed (RFC 8785 canonical JSON, SHA-256) so every finding
records exactly which version of its rule produced it; a changed rule is a new hash, and a
finding made under the old one still says what applied when it was made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import rfc8785

from schemas.catalogue import Catalogue
from schemas.duplicate_rule import DuplicateRule, RuleSide

Span = tuple[date, date | None]
"""A range of days, both ends inclusive; an end of None is open-ended."""


def rule_hash(rule: DuplicateRule) -> str:
    """SHA-256 (hex) of the rule's canonical JSON (RFC 8785): comments and YAML layout do not
    change it, any change of content does."""
    return hashlib.sha256(rfc8785.dumps(rule.model_dump(mode="json"))).hexdigest()


def programmes_of(catalogue: Catalogue, side: RuleSide) -> frozenset[str]:
    """The programme codes a side names: its programme, or every catalogue programme of its
    category (a category side follows the catalogue: a new programme of the category is
    covered without touching the rule)."""
    if side.programme is not None:
        return frozenset({side.programme})
    return frozenset(
        code
        for code, programme in catalogue.programmes.items()
        if programme.category is side.category
    )


def rules_in_force(catalogue: Catalogue, day: date) -> list[DuplicateRule]:
    """The rules whose effective window contains ``day``, in catalogue order."""
    return [rule for rule in catalogue.duplicate_rules if rule.in_force(day)]


def within_window(rule: DuplicateRule, span: Span) -> Span | None:
    """The part of ``span`` that lies in the rule's effective window, or None if none does.

    A conflict counts only for the days the rule was in force (DUP-05 ended when
    취업성공패키지 merged into 국민취업지원제도): a finding's period is clipped to the window.
    """
    start, end = span
    if rule.effective_until is not None and start > rule.effective_until:
        return None
    if end is not None and end < rule.effective_from:
        return None
    clipped_start = max(start, rule.effective_from)
    if end is None:
        return clipped_start, rule.effective_until
    if rule.effective_until is None:
        return clipped_start, end
    return clipped_start, min(end, rule.effective_until)


@dataclass(frozen=True, slots=True)
class ResolvedRule:
    """A rule with its sides resolved to programme codes and its content hash, as the SQL
    needs it (resolved once per catalogue, not per query)."""

    rule: DuplicateRule
    hash: str
    a: frozenset[str]
    b: frozenset[str]

    @property
    def same_kind(self) -> bool:
        """Both sides name the same programmes (only with ``distinct_sources``)."""
        return self.rule.a.key == self.rule.b.key

    @property
    def shared(self) -> frozenset[str]:
        """Programmes on both sides: a pair of two of them must be counted once."""
        return self.a & self.b

    def names(self, programmes: Iterable[str]) -> bool:
        """Whether a side of the rule names one of ``programmes``."""
        return not (self.a | self.b).isdisjoint(programmes)


@lru_cache(maxsize=8)
def resolve(catalogue: Catalogue) -> tuple[ResolvedRule, ...]:
    """Every rule of the catalogue, resolved (cached per catalogue object: it is immutable)."""
    return tuple(
        ResolvedRule(
            rule,
            rule_hash(rule),
            programmes_of(catalogue, rule.a),
            programmes_of(catalogue, rule.b),
        )
        for rule in catalogue.duplicate_rules
    )
