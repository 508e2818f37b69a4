"""Resolving a chunk's people by RRN blind index, creating the new ones, in bulk.

One SELECT finds every known person of the chunk (under every usable blind-index key); one bulk
insert creates the rest. Only ingestion creates persons, one file at a time: on PostgreSQL the
file's advisory lock (hub.ingest.pipeline.LOCK) keeps any other load from creating persons
until this one commits, so the insert is a plain COPY. Its staging table and
INSERT … ON CONFLICT DO NOTHING cost a large file about a second (benchmarks/RESULTS.md,
issue 3), and a person created by anyone else meanwhile would now fail the file (a unique
violation, nothing applied) instead of being skipped. On SQLite, a single writer, the insert
keeps ON CONFLICT DO NOTHING, which costs nothing there; if it skipped a row, one more SELECT
reads back who is who. The digests, the new persons' ids and their sealed RRNs come ready with
the chunk (hub.ingest.identities).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.mapper import Staged
from hub.database import copy_rows, dialect_of, one_of, update_rows
from hub.ingest.identities import People
from hub.kit.clock import utcnow
from hub.records.models import Person

_COLUMNS = (
    "id",
    "rrn_kid",
    "rrn_sealed",
    "rrn_index_kid",
    "rrn_index",
    "name",
    "birth_date",
    "sex",
    "region_code",
    "household_id",
    "civil_status",
    "created_at",
    "updated_at",
)


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
    session: AsyncSession, rows: Iterable[Staged], people: People
) -> tuple[dict[str, uuid.UUID], int]:
    """Person id per canonical RRN for every row, creating persons that are new; and how many
    were created. `people` holds the rows' digests and would-be new persons
    (hub.ingest.identities)."""
    first: dict[str, Staged] = {}
    for row in rows:
        first.setdefault(row.rrn, row)
    wanted: dict[tuple[str, bytes], str] = {}
    for kid, digests in people.digests:  # every usable key: a re-index may be under way
        wanted.update(zip(((kid, digest) for digest in digests), people.rrns, strict=True))
    known = await _known(session, wanted)
    new = [(i, rrn) for i, rrn in enumerate(people.rrns) if rrn not in known]
    inserted = 0
    if new:
        now = utcnow()
        index_kid, digests = people.digests[0]  # the primary key's
        ids = [people.id_of(i) for i, _ in new]
        records = []
        for (i, rrn), person_id in zip(new, ids, strict=True):
            row = first[rrn]
            records.append(
                (
                    person_id,
                    people.seal_kid,
                    people.sealed[i],
                    index_kid,
                    digests[i],
                    row.name,
                    row.birth_date,
                    row.sex,
                    row.region_code,
                    row.household_id,
                    "alive",
                    now,
                    now,
                )
            )
        inserted = await copy_rows(
            session,
            Person.__table__,
            _COLUMNS,
            records,
            skip_conflicts_on=()
            if dialect_of(session) == "postgresql"
            else ("rrn_index_kid", "rrn_index"),
        )
        if inserted == len(records):
            known |= {
                rrn: (person_id, first[rrn].household_id)
                for (_, rrn), person_id in zip(new, ids, strict=True)
            }
        else:  # SQLite skipped some, created by someone else meanwhile: read back who is who
            known |= await _known(
                session, {k: rrn for k, rrn in wanted.items() if rrn not in known}
            )
    # A person first seen without a household gets one from a later source that knows it.
    households = [
        {"id": known[rrn][0], "household_id": row.household_id}
        for rrn, row in first.items()
        if known[rrn][1] is None and row.household_id
    ]
    if households:
        await update_rows(session, Person, households)
    return {rrn: person_id for rrn, (person_id, _) in known.items()}, inserted
