"""Persons are stored with their RRN sealed (never in the clear), found by blind index, and
re-keyed after a rotation while old ciphertexts stay readable (hub keys rotate/reencrypt)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select, text

from hub.database import Database
from hub.kit.clock import utcnow
from hub.records import rekey
from hub.records.models import Person
from hub.records.repository import NewPerson, add_person, find_by_rrn, unseal
from hub.vault import KeyPurpose, KeySet
from schemas.identifiers import parse_rrn


async def test_rrn_is_encrypted_at_rest_and_found_by_blind_index(
    db: Database, keys_file: Path
) -> None:
    keyset = KeySet.load(keys_file)
    rrn = parse_rrn("850315-2345678")
    async with db.transaction() as session:
        person = await add_person(session, keyset, NewPerson(rrn=rrn, name="김민지"))
    async with db.transaction() as session:
        raw = (
            (await session.execute(text("SELECT * FROM persons WHERE name = '김민지'")))
            .mappings()
            .all()
        )
        dumped = repr([dict(r) for r in raw])
        assert "8503152345678" not in dumped
        assert "850315-2345678" not in dumped
        found = await find_by_rrn(session, keyset, parse_rrn("8503152345678"))
        assert found is not None
        assert found.id == person.id
        assert found.birth_date.isoformat() == "1985-03-15"
        assert found.sex == "female"
        assert unseal(keyset, found).canonical() == "8503152345678"
        assert await find_by_rrn(session, keyset, parse_rrn("850315-2345679")) is None


async def test_rotation_then_reencrypt_moves_every_row(
    fresh_database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    db = Database(fresh_database_url)
    try:
        await _rotate_and_rekey(db, keys_file, tmp_path)
    finally:
        await db.dispose()


async def _rotate_and_rekey(db: Database, keys_file: Path, tmp_path: Path) -> None:
    local_keys = tmp_path / "keys.json"
    shutil.copy(keys_file, local_keys)
    old = KeySet.load(local_keys)
    rrns = [parse_rrn(f"7001{day:02d}-1{day:06d}") for day in range(1, 6)]
    async with db.transaction() as session:
        ids = [
            (await add_person(session, old, NewPerson(rrn=r, name=f"회전{i}"))).id
            for i, r in enumerate(rrns)
        ]

    rotated = old.rotate(KeyPurpose.RRN_ENCRYPTION, utcnow())
    rotated = rotated.rotate(KeyPurpose.BLIND_INDEX, utcnow(), force=True)
    new_enc = rotated.primary(KeyPurpose.RRN_ENCRYPTION).kid
    new_idx = rotated.primary(KeyPurpose.BLIND_INDEX).kid

    # Before re-keying: old rows are still readable and findable under the rotated key set.
    async with db.transaction() as session:
        found = await find_by_rrn(session, rotated, rrns[0])
        assert found is not None
        assert unseal(rotated, found).canonical() == rrns[0].canonical()
        assert await rekey.count_stale(session, rotated) == len(rrns)

    while True:
        async with db.transaction() as session:
            if await rekey.rekey_batch(session, rotated, 2) == 0:
                break

    async with db.transaction() as session:
        assert await rekey.count_stale(session, rotated) == 0
        rows = (await session.scalars(select(Person).where(Person.id.in_(ids)))).all()
        assert {r.rrn_kid for r in rows} == {new_enc}
        assert {r.rrn_index_kid for r in rows} == {new_idx}
        for rrn, person_id in zip(rrns, ids, strict=True):
            found = await find_by_rrn(session, rotated, rrn)
            assert found is not None
            assert found.id == person_id
            assert unseal(rotated, found).canonical() == rrn.canonical()
        usage = {u.kid: u.rows for u in await rekey.usage(session)}
        assert usage.get(old.primary(KeyPurpose.RRN_ENCRYPTION).kid, 0) == 0
