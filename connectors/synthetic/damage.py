"""Bad rows: about 1% of each file, of many kinds, each written down with its row and field.

Bad rows are additional rows, never replacements: the good population stays complete. Each is
derived from a good row just written (never a planted one) and, unless it is a repeat, gets a
fresh record id so that rejecting it cannot touch the good row. Repeats come a few rows later:
a repeated id with different content must be rejected; an exact duplicate row must count as
unchanged, not as rejected.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from connectors.synthetic.periods import day
from connectors.synthetic.rendering import Canonical, Native, Renderer

RATE = 0.01
_NEVER = 1 << 62
EXACT_DUPLICATE = "exact_duplicate"
START_FIELDS = ("period_start", "valid_from", "effective_date")
END_FIELDS = ("period_end", "valid_to")
CODE_FIELDS = ("programme", "attribute", "type", "value")
_UNKNOWN = ("9", "8", "Z", "X")
_UNKNOWN_WORDS = ("기타", "개명", "미상", "보류중", "확인중")


@dataclass(frozen=True, slots=True)
class BadRow:
    row: int
    """1-based data row number within the file."""
    field: str
    """The canonical field the row breaks."""
    kind: str


def unknown_code(codes: dict[str, str]) -> str:
    """A code of the same shape as the source's codes that is not in its list."""
    sample = next(iter(codes))
    if sample.isascii():
        candidates = [c * len(sample) for c in _UNKNOWN]
    else:
        candidates = [w for w in _UNKNOWN_WORDS if len(w) == len(sample)] or ["기타"]
    return next(c for c in candidates if c not in codes)


class Damage:
    """Weaves bad rows into one file's stream of good rows."""

    def __init__(
        self, renderer: Renderer, rng: random.Random, new_id: Callable[[], str], key: str
    ) -> None:
        self.renderer = renderer
        self.rng = rng
        self.new_id = new_id
        self.key = key
        self.bad: list[BadRow] = []
        self.rows = 0
        self.kinds = self._kinds()
        self._turn = int(rng.random() * len(self.kinds))

    def _kinds(self) -> list[tuple[str, str]]:
        fields = self.renderer.mapping.fields
        column = self.renderer.column
        kinds = [("invalid_rrn_format", "rrn"), ("invalid_rrn_birth_date", "rrn")]
        start = next(n for n in START_FIELDS if n in fields)
        if column(start):
            kinds.append(("impossible_date", start))
        end = next((n for n in END_FIELDS if n in fields), None)
        if end and column(end) and column(end) != column(start):
            kinds.append(("end_before_start", end))
        kinds += [("unknown_code", n) for n in CODE_FIELDS if n in fields and fields[n].codes]
        kinds.append(("missing_required", "name"))
        if column("amount_won"):
            kinds.append(("negative_amount", "amount_won"))
        if column("status") and fields["status"].codes:
            kinds.append(("unknown_status", "status"))
        kinds += [("conflicting_repeat", self.key), (EXACT_DUPLICATE, self.key)]
        return kinds

    def stream(self, good: Iterator[tuple[Canonical, Native, bool]]) -> Iterator[Native]:
        """Yield the good rows with bad ones woven in; `bool` marks protected (planted) rows,
        which are never templates."""
        pending: list[tuple[int, Native, str, str]] = []
        template: tuple[Canonical, Native] | None = None
        written, due, next_bad = 0, _NEVER, self._gap()
        for canonical, native, protected in good:
            yield native
            self.rows += 1
            written += 1
            if written >= due:
                _, row, field, kind = pending.pop(0)
                due = pending[0][0] if pending else _NEVER
                yield self._record(row, field, kind)
            if protected:
                continue
            template = (canonical, native)
            if written >= next_bad:
                next_bad = written + self._gap()
                yield from self._bad(canonical, native, written, pending)
                due = pending[0][0] if pending else _NEVER
        for _, row, field, kind in pending:
            yield self._record(row, field, kind)
        if not self.bad and template is not None:
            pending.clear()
            yield from self._bad(*template, written, pending)
            for _, row, field, kind in pending:
                yield self._record(row, field, kind)

    def _gap(self) -> int:
        """Good rows until the next bad one: 1/RATE on average, jittered by up to 40%, so even
        a small file gets its share (a geometric gap would leave some with none)."""
        return int((0.6 + 0.8 * self.rng.random()) / RATE)

    def _record(self, row: Native, field: str, kind: str) -> Native:
        self.rows += 1
        self.bad.append(BadRow(self.rows, field, kind))
        return row

    def _bad(
        self,
        canonical: Canonical,
        native: Native,
        written: int,
        pending: list[tuple[int, Native, str, str]],
    ) -> Iterator[Native]:
        kind, field = self.kinds[self._turn % len(self.kinds)]
        self._turn += 1
        row = dict(native)
        if kind in ("conflicting_repeat", EXACT_DUPLICATE):
            if kind == "conflicting_repeat":
                self._change(canonical, row)
            pending.append((written + 1 + int(self.rng.random() * 40), row, field, kind))
            pending.sort(key=lambda p: p[0])
            return
        row[self.renderer.column(self.key)] = self.new_id()  # type: ignore[index]
        self._break(kind, field, canonical, row)
        yield self._record(row, field, kind)

    def _break(self, kind: str, field: str, canonical: Canonical, row: Native) -> None:
        r, column = self.renderer, self.renderer.column(field)
        assert column is not None
        if kind == "invalid_rrn_format":
            digits = canonical["rrn"]
            cut = 1 + int(self.rng.random() * 12)
            row[column] = r.text("rrn", digits[:cut] + digits[cut + 1 :])  # a digit dropped
        elif kind == "invalid_rrn_birth_date":
            digits = canonical["rrn"]
            row[column] = r.text("rrn", digits[:2] + "13" + digits[4:])
        elif kind == "impossible_date":
            year = date.fromordinal(canonical[field]).year
            text = r.text(field, day(year, 2, 28)) or ""
            cut = text.rfind("28")
            row[column] = text[:cut] + "31" + text[cut + 2 :]
        elif kind == "end_before_start":
            start = next(n for n in START_FIELDS if n in canonical)
            row[column] = r.text(field, canonical[start] - 1 - int(self.rng.random() * 300))
        elif kind in ("unknown_code", "unknown_status"):
            codes = r.mapping.fields[field].codes
            assert codes is not None
            row[column] = unknown_code(codes)
        elif kind == "missing_required":
            row[column] = None
        elif kind == "negative_amount":
            row[column] = f"-{canonical.get(field) or 10_000}"

    def _change(self, canonical: Canonical, row: Native) -> None:
        """Different content under the same id: another amount, end or start."""
        r = self.renderer
        amount = r.column("amount_won")
        if amount and canonical.get("amount_won"):
            row[amount] = str(canonical["amount_won"] + 10_000)
            return
        start = next(n for n in START_FIELDS if n in canonical)
        end = next((n for n in END_FIELDS if n in canonical), None)
        end_column = r.column(end) if end else None
        if end and end_column and end_column != r.column(start):
            value = canonical.get(end)
            row[end_column] = r.text(end, (value or canonical[start]) + 30)
        else:
            row[r.column(start)] = r.text(start, canonical[start] - 1)  # type: ignore[index]
