"""Re-keying persons after `hub keys rotate`: re-seal each RRN under the primary encryption key
and re-compute its blind index under the primary blind-index key, batch by batch.

Old ciphertexts stay readable meanwhile (their key stays `active`), so the hub keeps serving
while this runs; once nothing refers to an old key it can be retired.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.records.models import Person
from hub.records.repository import seal, unseal
from hub.vault import KeyPurpose, KeySet, blind_index


def _stale(keyset: KeySet):  # type: ignore[no-untyped-def]
    return or_(
        Person.rrn_kid != keyset.primary(KeyPurpose.RRN_ENCRYPTION).kid,
        Person.rrn_index_kid != keyset.primary(KeyPurpose.BLIND_INDEX).kid,
    )


@dataclass(frozen=True)
class KeyUsage:
    kid: str
    purpose: str
    rows: int


async def count_stale(session: AsyncSession, keyset: KeySet) -> int:
    return int(await session.scalar(select(func.count()).where(_stale(keyset))) or 0)


async def rekey_batch(session: AsyncSession, keyset: KeySet, size: int) -> int:
    """Re-key up to `size` stale persons; returns how many were done (0 when finished)."""
    persons = (
        await session.scalars(select(Person).where(_stale(keyset)).order_by(Person.id).limit(size))
    ).all()
    for person in persons:
        rrn = unseal(keyset, person)
        sealed = seal(keyset, person.id, rrn)
        index = blind_index(keyset, rrn)
        person.rrn_kid, person.rrn_sealed = sealed.kid, sealed.blob
        person.rrn_index_kid, person.rrn_index = index.kid, index.digest
    await session.flush()
    return len(persons)


async def usage(session: AsyncSession) -> list[KeyUsage]:
    """How many rows each key still protects (a key with 0 rows may be retired)."""
    result: list[KeyUsage] = []
    for column, purpose in (
        (Person.rrn_kid, KeyPurpose.RRN_ENCRYPTION),
        (Person.rrn_index_kid, KeyPurpose.BLIND_INDEX),
    ):
        rows = await session.execute(select(column, func.count()).group_by(column))
        result.extend(KeyUsage(kid, purpose.value, count) for kid, count in rows.all())
    return result
