"""Resolving a chunk's people by RRN blind index, creating the new ones, in bulk.

One SELECT finds every known person of the chunk (under every usable blind-index key); one bulk
INSERT … ON CONFLICT DO NOTHING creates the rest (so two ingestions creating the same person
at once both end with the one row). Only if some were created meanwhile by someone else does
one more SELECT read back their ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.mapper import Mapped
from hub.database import bulk_insert, one_of
from hub.kit.clock import utcnow
from hub.kit.ids import new_uuids
from hub.records.models import Person
from hub.records.repository import seal
from hub.vault import KeySet, blind_index, candidates


async def _known(
    session: AsyncSession, wanted: dict[tuple[str, bytes], str]
) -> dict[str, tuple[uuid.UUID, str | None]]:
    """canonical RRN → (person id, household id) for the persons already stored."""
    if not wanted:
        return {}
    kids = list({kid for kid, _ in wanted})
    digests = list({digest for _, digest in wanted})
    # Both columns, so the (rrn_index_kid, rrn_index) unique index serves the lookup.
    rows = await session.execute(
        select(Person.id, Person.rrn_index_kid, Person.rrn_index, Person.household_id).where(
            Person.rrn_index_kid.in_(kids), one_of(session, Person.rrn_index, digests)
        )
    )
    found: dict[str, tuple[uuid.UUID, str | None]] = {}
    for person_id, kid, digest, household in rows.all():
        rrn = wanted.get((kid, digest))
        if rrn is not None:
            found[rrn] = (person_id, household)
    return found


async def resolve(
    session: AsyncSession, keyset: KeySet, rows: Iterable[Mapped]
) -> tuple[dict[str, uuid.UUID], int]:
    """Person id per canonical RRN for every row, creating persons that are new; and how many
    were created."""
    first: dict[str, Mapped] = {}
    for row in rows:
        first.setdefault(row.rrn.canonical(), row)
    wanted = {
        (index.kid, index.digest): rrn
        for rrn, row in first.items()
        for index in candidates(keyset, row.rrn)
    }
    known = await _known(session, wanted)
    new = [row for rrn, row in first.items() if rrn not in known]
    inserted = 0
    if new:
        now = utcnow()
        values = []
        for row, person_id in zip(new, new_uuids(len(new)), strict=True):
            sealed = seal(keyset, person_id, row.rrn)
            index = blind_index(keyset, row.rrn)
            values.append(
                {
                    "id": person_id,
                    "rrn_kid": sealed.kid,
                    "rrn_sealed": sealed.blob,
                    "rrn_index_kid": index.kid,
                    "rrn_index": index.digest,
                    "name": row.person.name,
                    "birth_date": row.rrn.birth_date,
                    "sex": row.rrn.sex,
                    "region_code": row.person.region_code,
                    "household_id": row.person.household_id,
                    "civil_status": "alive",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        inserted = await bulk_insert(
            session, Person.__table__, values, skip_conflicts_on=("rrn_index_kid", "rrn_index")
        )
        if inserted == len(values):
            known |= {
                row.rrn.canonical(): (value["id"], value["household_id"])
                for row, value in zip(new, values, strict=True)
            }
        else:  # someone else created some of them meanwhile: read back who is who
            known |= await _known(
                session, {k: rrn for k, rrn in wanted.items() if rrn not in known}
            )
    # A person first seen without a household gets one from a later source that knows it.
    households = [
        {"id": known[rrn][0], "household_id": row.person.household_id}
        for rrn, row in first.items()
        if known[rrn][1] is None and row.person.household_id
    ]
    if households:
        await session.execute(update(Person), households)
    return {rrn: person_id for rrn, (person_id, _) in known.items()}, inserted
