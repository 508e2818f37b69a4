"""Canonical values → a source's native spelling, fast enough for a million rows.

The inverse of the mapping (as `Mapping.native_row`), compiled once per source: code maps are
inverted (a canonical value with several source codes gets one of them at random, as real files
mix 전입 and 전출 or 해지 and 만료), dates are formatted with the field's first format and cached
per day, an empty optional value is written as the field's first `blank` spelling.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from operator import itemgetter
from typing import Any

from connectors.mapping import DATE_FIELDS, Mapping

Canonical = dict[str, Any]
"""Canonical field name → value: text, a day ordinal for dates, an int for amounts."""
Native = dict[str, str | None]

_TEXT_FIELDS = frozenset(
    {"source_record_id", "source_event_id", "rrn", "name", "region_code", "household_id",
     "new_region_code", "value"}
)  # fmt: skip
"""Fields whose canonical values are already text (or None)."""

HYPHENATED_RRN = frozenset({"mohw", "molit-lh"})
"""Sources whose systems print the RRN as YYMMDD-GNNNNNN; the others write 13 digits."""

RECORD_IDS: dict[str, str] = {
    "mohw": "HE{:010d}",
    "mohw-eligibility": "Q{:011d}",
    "nhis": "NH{:010d}",
    "moel": "EMP-{:08d}",
    "molit-lh": "LH-C{:08d}",
    "mogef": "IC{:09d}",
    "mpva": "V{:011d}",
    "moe": "EDU{:09d}",
    "mcst": "MC{:010d}",
    "motie": "EN{:09d}",
    "kfs": "KFS-{:07d}",
    "mafra": "AF{:010d}",
    "mois-rrs": "RR{:010d}",
    "mois": "PW{:09d}",
    "ssis": "SS{:09d}",
}
"""How each source numbers its records; sources not listed get `<SOURCE>-<n>`."""


def record_id_format(source: str) -> str:
    return RECORD_IDS.get(source, source.upper() + "-{:08d}")


class _Spelling(dict[Any, str | None]):
    """Canonical value → source text, as a dict so that rendering a row is dict look-ups: a
    miss computes the text (and keeps it when `keep`, e.g. one text per day)."""

    def __init__(self, spell: Callable[[Any], str | None], blank: str | None, keep: bool) -> None:
        super().__init__({None: blank})
        self.spell = spell
        self.keep = keep

    def __missing__(self, value: Any) -> str | None:
        text = self.spell(value)
        if self.keep:
            self[value] = text
        return text


class Renderer:
    """Writes canonical rows in one source's columns."""

    def __init__(self, mapping: Mapping, rng: random.Random) -> None:
        self.mapping = mapping
        self.rng = rng
        self.columns = tuple(dict.fromkeys(mapping.columns))
        self.hyphenated = mapping.source in HYPHENATED_RRN
        self._spellings: dict[str, _Spelling] = {}
        self._steps: list[tuple[str, str, _Spelling]] = []
        plain: list[tuple[str, str]] = []
        for name, field in mapping.fields.items():
            if field.column is None:
                continue
            self._spellings[name] = spelling = self._spelling(name)
            if (
                name in _TEXT_FIELDS
                and not field.codes
                and not field.blank
                and (name != "rrn" or not self.hyphenated)
            ):
                plain.append((name, field.column))  # text as it is: copied as it is
            else:
                self._steps.append((name, field.column, spelling))
        self._plain_columns = tuple(column for _, column in plain)
        names = tuple(name for name, _ in plain)
        self._plain = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)

    def column(self, name: str) -> str | None:
        field = self.mapping.fields.get(name)
        return None if field is None else field.column

    def _spelling(self, name: str) -> _Spelling:
        field = self.mapping.fields[name]
        blank = field.blank[0] if field.blank else None
        if field.codes is not None:
            inverse: dict[str, list[str]] = {}
            for code, meaning in field.codes.items():
                inverse.setdefault(meaning, []).append(code)
            choice = self.rng.choice
            spelling = _Spelling(lambda value: choice(inverse[value]), blank, keep=False)
            spelling.update({m: codes[0] for m, codes in inverse.items() if len(codes) == 1})
            return spelling
        if name in DATE_FIELDS and field.date is not None:
            pattern = field.date[0]
            return _Spelling(lambda value: date.fromordinal(value).strftime(pattern), blank, True)
        if name == "rrn" and self.hyphenated:
            return _Spelling(lambda value: f"{value[:6]}-{value[6:]}", blank, keep=False)
        return _Spelling(str, blank, keep=False)

    def text(self, name: str, value: Any) -> str | None:
        """One canonical value in the source's spelling of field `name`."""
        return self._spellings[name][value]

    def render(self, row: Canonical) -> Native:
        """The row in the source's columns (`row` holds every field the mapping reads)."""
        native: Native = dict(zip(self._plain_columns, self._plain(row), strict=True))
        for name, column, spelling in self._steps:
            native[column] = spelling[row[name]]
        return native
