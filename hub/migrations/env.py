"""Alembic environment: async engines for SQLite and PostgreSQL, batch mode on SQLite
(which cannot ALTER most things in place), type comparison on so `alembic check` sees drift."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from hub.database import create_engine, is_sqlite
from hub.kit.base import UTCDateTime
from hub.models import Base
from hub.records.models import PERSONS_CHECKED_PER_STATEMENT
from hub.settings import Settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("database_url") or Settings().database


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # UTCDateTime is a TypeDecorator over an aware DateTime; migrations need only the column type.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _on_postgresql_only_as_triggers(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave out of the comparison the foreign keys PostgreSQL enforces per statement
    (hub.records.models.PERSONS_CHECKED_PER_STATEMENT); SQLite has them as constraints."""
    return not (type_ == "foreign_key_constraint" and name in PERSONS_CHECKED_PER_STATEMENT)


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    sqlite = is_sqlite(url or _url())
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        render_item=_render_item,
        include_object=None if sqlite else _on_postgresql_only_as_triggers,
        literal_binds=connection is None,
    )


def run_offline() -> None:
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
