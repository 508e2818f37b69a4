"""The applicant of a yes/no verification and their consents, in one round trip.

`POST /v1/eligibility/verify` is the hub's busiest disclosure (benchmarks/RESULTS.md). Its
policy decision needs the person's consents, read afresh for every request (no cached
permission outlives a request), so the person is found by blind index and their consents are
read in the same statement: persons LEFT JOIN consents. The facts are read only after the
decision (hub.eligibility.service). The statement is prebuilt Core, one per number of
blind-index keys in use, so SQLAlchemy's compiled cache serves it and no ORM entity is built.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.consents.models import ConsentRow
from hub.consents.service import as_consent
from hub.database import Executor
from hub.kit import driver
from hub.records.models import Person
from hub.vault import KeySet, candidates
from schemas.consent import Consent
from schemas.identifiers import ResidentRegistrationNumber


@dataclass(frozen=True)
class Applicant:
    person_id: uuid.UUID
    consents: list[Consent]
    """Every consent the person has given, current or not (the policy judges them)."""


_PERSONS = cast(Table, Person.__table__)
_CONSENTS = cast(Table, ConsentRow.__table__)


@lru_cache(maxsize=8)
def _statement(keys: int) -> Select[Any]:
    """The person under any of `keys` blind-index keys (a lookup as `find_by_rrn` does), with
    each of their consents on a row of its own (none: one row of NULLs). Over the tables'
    columns, so SQLAlchemy runs it as Core, without the ORM's compile and loading steps."""
    persons = _PERSONS.c
    under_any_key = or_(
        *(
            tuple_(persons.rrn_index_kid, persons.rrn_index)
            == tuple_(
                bindparam(f"kid_{i}", type_=persons.rrn_index_kid.type),
                bindparam(f"digest_{i}", type_=persons.rrn_index.type),
            )
            for i in range(keys)
        )
    )
    consent = [c for c in _CONSENTS.c if c.key != "person_id"]
    return (
        select(persons.id.label("person_id"), *consent)
        .select_from(_PERSONS.outerjoin(_CONSENTS, _CONSENTS.c.person_id == persons.id))
        .where(under_any_key)
    )


async def applicant(
    session: Executor, keyset: KeySet, rrn: ResidentRegistrationNumber
) -> Applicant | None:
    """The person with this RRN and their consents, or None when the hub does not know them."""
    pairs = candidates(keyset, rrn)
    params: dict[str, Any] = {}
    for i, pair in enumerate(pairs):
        params[f"kid_{i}"], params[f"digest_{i}"] = pair.kid, pair.digest
    if isinstance(session, AsyncConnection):
        rows = await driver.rows(session, _statement(len(pairs)), params)
    else:
        rows = (await session.execute(_statement(len(pairs)), params)).all()
    if not rows:
        return None
    person_id = rows[0].person_id  # a blind index names one person at most
    consents = [
        as_consent(row)  # type: ignore[arg-type]  # a row of the consents table's columns
        for row in rows
        if row.id is not None and row.person_id == person_id
    ]
    return Applicant(person_id, consents)
