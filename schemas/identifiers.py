"""Resident registration numbers (주민등록번호, RRN): parsing, validation and safe display.

An RRN is the most sensitive identifier the hub handles. 개인정보 보호법 (PIPA) 제24조의2
(주민등록번호 처리의 제한) restricts its processing and requires it to be stored encrypted, so this
module is careful never to let the number escape: `repr()`/`str()` of a parsed number show only
the masked form, and no error message ever echoes any of its digits (error messages end up in
logs and RFC 9457 problem responses).

Layout `YYMMDD-GNNNNNN`: birth date, then G encoding century, sex and nationality (see
`_CENTURY_DIGITS`). Numbers issued since October 2020 carry random digits after G, so the
historic check digit is computed and reported (`check_digit_valid`) but never enforced
(DOMAIN.md "Identifiers").

This module is pure: no I/O, nothing from the hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Final, Literal

__all__ = [
    "RRN_PATTERN",
    "InvalidRRN",
    "InvalidRRNReason",
    "ResidentRegistrationNumber",
    "Sex",
    "parse_rrn",
]

Sex = Literal["male", "female"]
InvalidRRNReason = Literal["format", "century_digit", "birth_date", "future_birth_date"]

RRN_PATTERN: Final[re.Pattern[str]] = re.compile(
    r"(?<!\d)\d{6}[\s\-\u2010-\u2015\u2212\uFF0D]?\d{7}(?!\d)"
)
"""Anything RRN-shaped in free text: 6 digits, an optional hyphen/dash/space, 7 digits.

Used to redact logs and case-conference packs (DOMAIN.md: conference material must have the RRN
removed). It deliberately over-matches: `\\d` also matches non-ASCII digits (e.g. full-width
`９`) and any dash-like separator is accepted, because a redactor that misses a number is a leak
while one that masks a harmless 13-digit run costs nothing. The digit look-arounds keep it from
matching inside longer digit runs (e.g. account numbers of 14+ digits).
"""

_STRICT_FORM: Final[re.Pattern[str]] = re.compile(r"[0-9]{6}-?[0-9]{7}")
"""What `parse_rrn` accepts: ASCII digits only, hyphen optional (and nothing else)."""

_CANONICAL_FORM: Final[re.Pattern[str]] = re.compile(r"[0-9]{13}")

_CENTURY_DIGITS: Final[dict[str, tuple[int, bool]]] = {
    # G digit -> (century base year, foreigner?). Odd G = male, even G = female.
    "9": (1800, False),
    "0": (1800, False),
    "1": (1900, False),
    "2": (1900, False),
    "3": (2000, False),
    "4": (2000, False),
    "5": (1900, True),
    "6": (1900, True),
    "7": (2000, True),
    "8": (2000, True),
}
"""Century/sex/nationality digit (7th digit) per the 주민등록법 시행규칙 numbering scheme."""

_KST: Final = timezone(timedelta(hours=9), "KST")
"""Korea Standard Time (no DST since 1988): birth dates in the register are Korean dates."""

_CHECK_WEIGHTS: Final[tuple[int, ...]] = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)

_MESSAGES: Final[dict[InvalidRRNReason, str]] = {
    "format": (
        "a resident registration number must be thirteen ASCII digits, "
        "optionally written as YYMMDD-GNNNNNN with a single hyphen"
    ),
    "century_digit": "the century/sex digit (the seventh digit) is not a known code",
    "birth_date": "the birth date part is not a real calendar date",
    "future_birth_date": "the birth date part lies in the future",
}


class InvalidRRN(ValueError):
    """A text is not a valid resident registration number.

    `reason` is a stable code for programs; the message is for people. Neither ever contains
    the offending digits (PIPA 제24조의2: the number must not leak through logs or errors).
    """

    reason: InvalidRRNReason

    def __init__(self, reason: InvalidRRNReason) -> None:
        self.reason = reason
        super().__init__(_MESSAGES[reason])


def _birth_date(digits: str) -> date:
    """Birth date from the 13 normalised digits, or `InvalidRRN` if there is none."""
    try:
        century, _foreigner = _CENTURY_DIGITS[digits[6]]
    except KeyError:
        raise InvalidRRN("century_digit") from None
    try:
        return date(century + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        # `from None`: the original message is harmless today but is not ours to vouch for.
        raise InvalidRRN("birth_date") from None


@dataclass(frozen=True, slots=True, repr=False)
class ResidentRegistrationNumber:
    """A validated RRN: 13 ASCII digits whose 7th digit is a known code and whose birth date is
    real. Build it with `parse_rrn` (which also rejects future birth dates).

    The digits are reachable only through `canonical()`, which exists for encryption and the
    blind index (hub.vault); everything that might be printed shows `masked()`.
    """

    _digits: str
    _birth: date = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self._digits, str) or not _CANONICAL_FORM.fullmatch(self._digits):
            raise InvalidRRN("format")
        # Computed once: ingestion reads it several times per row.
        object.__setattr__(self, "_birth", _birth_date(self._digits))

    @property
    def birth_date(self) -> date:
        """Date of birth, with the century taken from the 7th digit."""
        return self._birth

    @property
    def sex(self) -> Sex:
        """Sex as registered: odd 7th digit male, even female (0 counts as even)."""
        return "male" if int(self._digits[6]) % 2 == 1 else "female"

    @property
    def is_foreigner(self) -> bool:
        """True for 외국인등록번호-style numbers (7th digit 5-8)."""
        return _CENTURY_DIGITS[self._digits[6]][1]

    @property
    def check_digit_valid(self) -> bool:
        """Whether the 13th digit matches the historic checksum.

        Informational only: numbers issued since 2020-10 use random trailing digits, so a
        mismatch does not make the number invalid.
        """
        total = sum(int(d) * w for d, w in zip(self._digits[:12], _CHECK_WEIGHTS, strict=True))
        return (11 - total % 11) % 10 == int(self._digits[12])

    def canonical(self) -> str:
        """The 13 digits without hyphen: the only form that is encrypted or blind-indexed."""
        return self._digits

    def masked(self) -> str:
        """Display form `YYMMDD-G******` (the usual Korean masking of the last six digits)."""
        return f"{self._digits[:6]}-{self._digits[6]}******"

    def __repr__(self) -> str:
        return f"ResidentRegistrationNumber({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()


def parse_rrn(text: str, *, today: date | None = None) -> ResidentRegistrationNumber:
    """Parse `YYMMDD-GNNNNNN` or 13 digits; surrounding whitespace is ignored.

    Rejects (with `InvalidRRN`): any other shape (other separators, full-width or other
    non-ASCII digits, letters, wrong length), an impossible birth date (leap years honoured:
    000229 is a date with G=3, not with G=1), and a birth date after `today` (defaults to the
    current date in Korea; pass it from the hub clock for deterministic behaviour).
    """
    stripped = text.strip()
    if not _STRICT_FORM.fullmatch(stripped):
        raise InvalidRRN("format")
    rrn = ResidentRegistrationNumber(stripped.replace("-", ""))
    if rrn.birth_date > (today if today is not None else datetime.now(_KST).date()):
        raise InvalidRRN("future_birth_date")
    return rrn
