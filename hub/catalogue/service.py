"""Synchronising the validated catalogue (schemas/catalogue/*.yaml) into the database.

The YAML is the source of truth; the tables let enrolments refer to programmes and
organisations by key. Synchronisation is an idempotent upsert keyed by code, skipped when the
stored catalogue hash already matches, so any number of processes may start at once.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.catalogue import repository
from hub.catalogue.models import Programme
from hub.database import Database
from hub.organisations.models import Organisation
from schemas.catalogue import Catalogue

log = structlog.get_logger("hub.catalogue")


def _depth(catalogue: Catalogue, code: str) -> int:
    parent = catalogue.organisations[code].parent
    return 0 if parent is None else 1 + _depth(catalogue, parent)


def _organisation_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    # Parents first, so the self-referencing foreign key holds at every insert.
    ordered = sorted(
        catalogue.organisations.values(), key=lambda o: (_depth(catalogue, o.code), o.code)
    )
    return [
        {
            "code": o.code,
            "kind": o.kind.value,
            "name_ko": o.name_ko,
            "name_en": o.name_en,
            "parent_code": o.parent,
            "region_code": o.region_code,
        }
        for o in ordered
    ]


def _programme_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    return [
        {
            "code": p.code,
            "ministry_code": p.ministry,
            "operator_code": p.operator,
            "name_ko": p.name_ko,
            "name_en": p.name_en,
            "category": p.category.value,
            "document": p.model_dump(mode="json"),
            "catalogue_hash": catalogue.hash,
            "in_catalogue": True,
        }
        for p in catalogue.programmes.values()
    ]


async def sync(session: AsyncSession, catalogue: Catalogue) -> int:
    """Upsert the catalogue's organisations and programmes; returns the programme count."""
    await repository.upsert(session, Organisation, _organisation_rows(catalogue), "code")
    rows = _programme_rows(catalogue)
    await repository.upsert(session, Programme, rows, "code")
    await repository.withdraw_missing(session, set(catalogue.programmes))
    await session.flush()
    return len(rows)


async def sync_if_changed(db: Database, catalogue: Catalogue) -> bool:
    """Sync in its own transaction unless the database already holds this catalogue."""
    async with db.transaction() as session:
        if await repository.stored_hashes(session) == {catalogue.hash}:
            return False
        count = await sync(session, catalogue)
    log.info("catalogue.synced", programmes=count, catalogue_hash=catalogue.hash)
    return True
