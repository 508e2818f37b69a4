"""Yes/no answers about attributes: `true`, `false` or `"unknown"`, never the record behind.

PIPA §3(1) (minimum necessary): a ministry asking whether an applicant is a basic-livelihood
recipient learns that and nothing else. An enum attribute is asked as "is it X?" (`equals`),
an income band as "is it at most N% of 기준중위소득?" (`at_most`), so every answer is one of
three values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hub.kit.errors import InvalidInput
from hub.records.facts import Fact
from schemas.attribute import AttributeValueType
from schemas.catalogue import Catalogue

Reply = bool | Literal["unknown"]


@dataclass(frozen=True)
class Question:
    attribute: str
    equals: bool | str | None = None
    at_most: int | None = None


@dataclass(frozen=True)
class Answer:
    attribute: str
    answer: Reply
    source: str
    """The ministry whose register is authoritative for the attribute."""


def check_questions(catalogue: Catalogue, questions: Sequence[Question]) -> None:
    """Each question names a catalogue attribute and asks it in the attribute's own terms."""
    errors = []
    for i, q in enumerate(questions):
        where = f"body.attributes[{i}]"
        attribute = catalogue.attributes.get(q.attribute)
        if attribute is None:
            errors.append({"field": f"{where}.attribute", "reason": "not a catalogue attribute"})
            continue
        kind = attribute.value_type
        if kind is AttributeValueType.BOOL and (q.at_most is not None or isinstance(q.equals, str)):
            errors.append(
                {"field": where, "reason": "a yes/no attribute takes no equals or at_most"}
            )
        elif kind is AttributeValueType.ENUM and (
            not isinstance(q.equals, str) or q.at_most is not None
        ):
            errors.append({"field": f"{where}.equals", "reason": "an enum attribute needs equals"})
        elif kind is AttributeValueType.ENUM and q.equals not in attribute.values:
            errors.append({"field": f"{where}.equals", "reason": "not a value of the attribute"})
        elif kind is AttributeValueType.BAND and (q.at_most is None or q.equals is not None):
            errors.append({"field": f"{where}.at_most", "reason": "a band attribute needs at_most"})
    if len({q.attribute for q in questions}) != len(questions):
        errors.append({"field": "body.attributes", "reason": "an attribute is asked twice"})
    if errors:
        raise InvalidInput("The attribute questions are not valid.", errors=errors)


def _reply(
    catalogue: Catalogue, question: Question, held: list[Fact], *, known: bool, complete: bool
) -> Reply:
    values = [f.value for f in held]
    kind = catalogue.attributes[question.attribute].value_type
    if kind is AttributeValueType.BAND:
        bands = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if not bands or question.at_most is None:
            return "unknown"
        return min(bands) <= question.at_most
    wanted = True if question.equals is None else question.equals
    if wanted in values:
        return True
    if values:
        return False
    # Nothing held: false only where the hub holds the whole register and knows the person.
    return False if known and complete else "unknown"


def answer_all(
    catalogue: Catalogue,
    questions: Sequence[Question],
    facts: Sequence[Fact],
    *,
    known_person: bool,
    complete: frozenset[str],
) -> list[Answer]:
    """One answer per question from the facts that hold on the day asked about."""
    return [
        Answer(
            attribute=q.attribute,
            answer=_reply(
                catalogue,
                q,
                [f for f in facts if f.attribute == q.attribute],
                known=known_person,
                complete=q.attribute in complete,
            ),
            source=catalogue.attributes[q.attribute].source_ministry,
        )
        for q in questions
    ]
