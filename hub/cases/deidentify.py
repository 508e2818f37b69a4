"""Identifiers removed from a case for the case conference (사례회의).

DOMAIN.md ("Consent and legal bases"): case-conference material must have identifying data
removed: name, resident registration number, mobile number and e-mail address. Staff type these
into free-text notes as often as into fields, so every text of the case is scrubbed, not only
the fields that hold them. Pure: text and the names the hub knows in, scrubbed text out.

What is removed, and how it is recognised:
* e-mail addresses (local@domain.tld);
* resident registration numbers: 13 digits, 6 + 7, with or without the hyphen (or a space);
* telephone numbers: Korean mobile (01X) and landline (0XX) numbers, with or without
  separators (hyphen, dot, space, parentheses), and in +82 international form;
* the names the hub knows (the person's and their household members'), wherever they appear,
  also with spaces between the syllables ("김 하나"). A given name alone is not removed: many
  Korean given names are ordinary words ("하나", "한결"), and removing them would garble notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from schemas.case import CaseRecord, Note, PlanItem, Referral

NAME = "[이름]"
RRN = "[주민등록번호]"
PHONE = "[전화번호]"
EMAIL = "[전자우편]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_RRN = re.compile(r"(?<!\d)\d{6}[ \t]*[-‐–—]?[ \t]*\d{7}(?!\d)")
_SEP = r"[ \t.\-‐–)]*"
_PHONE = re.compile(
    r"(?<![\d+])(?:\+[ \t]*82[ \t.\-]*0?|0)"  # +82 10… / 010… / 02…
    rf"(?:1[016789]|2|[3-6][1-5]|70|50\d?){_SEP}\d{{3,4}}{_SEP}\d{{4}}(?!\d)"
)


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    spelled = sorted({n.strip() for n in names if len(n.strip()) >= 2}, key=lambda n: (-len(n), n))
    if not spelled:
        return None
    alternatives = (
        r"\s*".join(re.escape(ch) for ch in name if not ch.isspace()) for name in spelled
    )
    return re.compile("|".join(alternatives), re.IGNORECASE)


class Scrubber:
    """Removes identifiers from texts; built once per case with the names the hub knows."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names = _name_pattern(names)

    def text(self, value: str) -> str:
        value = _EMAIL.sub(EMAIL, value)
        value = _RRN.sub(RRN, value)
        value = _PHONE.sub(PHONE, value)
        if self._names is not None:
            value = self._names.sub(NAME, value)
        return value

    def optional(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def plan_item(self, item: PlanItem) -> PlanItem:
        return item.model_copy(
            update={
                "goal": self.text(item.goal),
                "provider": self.text(item.provider),
                "content": self.text(item.content),
                "frequency": self.text(item.frequency),
            }
        )

    def note(self, note: Note) -> Note:
        return note.model_copy(update={"text": self.text(note.text)})

    def referral(self, referral: Referral) -> Referral:
        return referral.model_copy(
            update={
                "service": self.text(referral.service),
                "reason": self.optional(referral.reason),
            }
        )


def deidentify(record: CaseRecord, names: Iterable[str]) -> CaseRecord:
    """The case without the person's pseudonym and with every text scrubbed."""
    scrub = Scrubber(names)
    return record.model_copy(
        update={
            "subject_ref": None,
            "class_reason": scrub.optional(record.class_reason),
            "plan": tuple(scrub.plan_item(item) for item in record.plan),
            "notes": tuple(scrub.note(note) for note in record.notes),
            "referrals": tuple(scrub.referral(r) for r in record.referrals),
        }
    )
