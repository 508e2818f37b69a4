"""What disclosing features share about the request's subject and programme: who runs a
programme, finding the person (pseudonyms for the log and for the caller), and turning bad
input into a logged refusal (issue 5: each refusal logged)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from audit.log import subject_of
from hub.disclosures.context import Context
from hub.kit.errors import InvalidInput
from hub.records.models import Person
from hub.records.repository import find_by_rrn
from hub.vault import subject_ref
from schemas.identifiers import ResidentRegistrationNumber
from schemas.programme import Programme


def runs(programme: Programme, organisation: str, kind: str) -> bool:
    """Whether the caller runs the programme: its ministry and the body operating it for the
    ministry do; private support (no ministry, no operator) is run by every facility of its
    `operator_kind`, each for its own support."""
    if organisation in {programme.ministry, programme.operator}:
        return True
    return (
        programme.ministry is None
        and programme.operator is None
        and programme.operator_kind is not None
        and programme.operator_kind.value == kind
    )


@dataclass(frozen=True)
class Subject:
    person: Person
    log_ref: str
    """The person in the disclosure log's pseudonym space."""
    ref: str
    """The caller's own pseudonym of the person."""


async def find(
    session: AsyncSession, ctx: Context, rrn: ResidentRegistrationNumber
) -> Subject | None:
    person = await find_by_rrn(session, ctx.keyset, rrn)
    if person is None:
        return None
    return Subject(
        person=person,
        log_ref=subject_of(ctx.keyset, person.id),
        ref=subject_ref(ctx.keyset, person.id, ctx.requester.organisation),
    )


def invalid(field: str, reason: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"field": field, "reason": reason}])


@contextmanager
def refusing(ctx: Context, *, action: str, purpose: str) -> Iterator[None]:
    """Bad input is a refusal too, and is logged like one."""
    try:
        yield
    except InvalidInput as exc:
        raise ctx.refused(exc, action=action, purpose=purpose) from None
