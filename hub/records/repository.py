"""Storing and finding persons by RRN without ever storing the RRN in the clear.

The RRN is sealed with AES-256-GCM bound to (persons, rrn, person id, key id) and looked up
through its keyed blind index under every usable blind-index key (개인정보 보호법 §24-2).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hub.kit.ids import new_uuid
from hub.records.models import Person
from hub.vault import KeySet, Sealed, blind_index, candidates, decrypt, encrypt
from schemas.identifiers import ResidentRegistrationNumber, parse_rrn

TABLE, COLUMN = "persons", "rrn"


@dataclass(frozen=True)
class NewPerson:
    rrn: ResidentRegistrationNumber
    name: str
    region_code: str | None = None
    household_id: str | None = None


async def find_by_rrn(
    session: AsyncSession, keyset: KeySet, rrn: ResidentRegistrationNumber
) -> Person | None:
    """The person with this RRN, found by blind index under any non-retired key."""
    pairs = [(c.kid, c.digest) for c in candidates(keyset, rrn)]
    query = select(Person).where(
        or_(*(tuple_(Person.rrn_index_kid, Person.rrn_index) == pair for pair in pairs))
    )
    return (await session.scalars(query)).first()


def seal(keyset: KeySet, person_id: uuid.UUID, rrn: ResidentRegistrationNumber) -> Sealed:
    return encrypt(
        keyset, rrn.canonical().encode("ascii"), table=TABLE, column=COLUMN, row_id=person_id
    )


def unseal(keyset: KeySet, person: Person) -> ResidentRegistrationNumber:
    """Decrypt a person's RRN (for re-keying; no API ever returns it)."""
    plain = decrypt(
        keyset,
        Sealed(person.rrn_kid, person.rrn_sealed),
        table=TABLE,
        column=COLUMN,
        row_id=person.id,
    )
    return parse_rrn(plain.decode("ascii"), today=dt.date.max)


async def add_person(session: AsyncSession, keyset: KeySet, new: NewPerson) -> Person:
    person_id = new_uuid()
    sealed = seal(keyset, person_id, new.rrn)
    index = blind_index(keyset, new.rrn)
    person = Person(
        id=person_id,
        rrn_kid=sealed.kid,
        rrn_sealed=sealed.blob,
        rrn_index_kid=index.kid,
        rrn_index=index.digest,
        name=new.name,
        birth_date=new.rrn.birth_date,
        sex=new.rrn.sex,
        region_code=new.region_code,
        household_id=new.household_id,
    )
    session.add(person)
    await session.flush()
    return person
