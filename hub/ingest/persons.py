"""Resolving a chunk's people by RRN blind index, creating the new ones, in bulk.

One SELECT finds every known person of the chunk (under every usable blind-index key); one bulk
INSERT … ON CONFLICT DO NOTHING creates the rest (so two ingestions creating the same person
at once both end with the one row). Only if some were created meanwhile by someone else does
one more SELECT read back their ids. Digests and seals are computed in bulk (hub.vault's
`index_many` and `encrypt_many`): per row, that is the whole of this stage's Python.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.mapper import Staged
from hub.database import copy_rows, one_of
from hub.kit.clock import utcnow
from hub.kit.ids import new_uuids
from hub.records.models import Person
from hub.records.repository import COLUMN, TABLE
from hub.vault import KeyPurpose, KeySet, encrypt_many, index_many

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
    session: AsyncSession, keyset: KeySet, rows: Iterable[Staged]
) -> tuple[dict[str, uuid.UUID], int]:
    """Person id per canonical RRN for every row, creating persons that are new; and how many
    were created."""
    first: dict[str, Staged] = {}
    for row in rows:
        first.setdefault(row.rrn, row)
    digits = list(first)
    wanted: dict[tuple[str, bytes], str] = {}
    # Every usable key, primary first: during a re-index a person may carry either digest.
    for key in keyset.keys_for(KeyPurpose.BLIND_INDEX):
        kid, digests = index_many(keyset, digits, key.kid)
        wanted.update(((kid, digest), rrn) for digest, rrn in zip(digests, digits, strict=True))
    known = await _known(session, wanted)
    new = [row for rrn, row in first.items() if rrn not in known]
    inserted = 0
    if new:
        now = utcnow()
        ids = new_uuids(len(new))
        new_digits = [row.rrn for row in new]
        sealed = encrypt_many(
            keyset,
            [rrn.encode("ascii") for rrn in new_digits],
            table=TABLE,
            column=COLUMN,
            row_ids=ids,
        )
        index_kid, digests = index_many(keyset, new_digits)
        records = [
            (
                person_id,
                seal.kid,
                seal.blob,
                index_kid,
                digest,
                row.name,
                row.birth_date,
                row.sex,
                row.region_code,
                row.household_id,
                "alive",
                now,
                now,
            )
            for row, person_id, seal, digest in zip(new, ids, sealed, digests, strict=True)
        ]
        inserted = await copy_rows(
            session,
            Person.__table__,
            _COLUMNS,
            records,
            skip_conflicts_on=("rrn_index_kid", "rrn_index"),
        )
        if inserted == len(records):
            known |= {
                row.rrn: (person_id, row.household_id)
                for row, person_id in zip(new, ids, strict=True)
            }
        else:  # someone else created some of them meanwhile: read back who is who
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
        await session.execute(update(Person), households)
    return {rrn: person_id for rrn, (person_id, _) in known.items()}, inserted
