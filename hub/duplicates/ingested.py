"""Findings the moment a conflicting enrolment arrives (event-driven, not a nightly batch).

Ingestion calls ``find_for_enrolments`` after it has written a chunk, in the same
transaction: the same SELECT as a scan (hub.duplicates.sql), restricted to pairs in which one
enrolment is among those just inserted or updated, so the finding commits with the enrolment
that caused it and both organisations can see it at once. A rule runs only for the side(s)
that name a programme of the chunk, and each side is restricted to the chunk's enrolments of
its own programmes, so the work follows the chunk's size, not the table's: a chunk of
programmes no rule names costs nothing but a set operation in Python.

A pair already found keeps its first finding (its period and provenance) when one of its
enrolments changes; whether it still holds is judged by hub.duplicates.revisit with
``current_pairs``. What it does not do: a person's household given later by another source
(hub.ingest.persons) is not re-examined here; a scan (hub.duplicates.scan) covers that.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Uuid, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from hub.database import dialect_of
from hub.duplicates import store
from hub.duplicates.rules import ResolvedRule, resolve
from hub.duplicates.sql import matches
from schemas.catalogue import Catalogue


@lru_cache(maxsize=512)
def _statement(dialect: str, resolved: ResolvedRule, side: str) -> Select[Any]:
    """The rule's SELECT with side ``side``'s enrolment among the ``ids`` parameter, built
    once per rule and side (building it costs more than running it for a small chunk). On
    PostgreSQL the ids are one array parameter, so the statement text never changes."""
    if dialect == "postgresql":
        ids = bindparam("ids", type_=postgresql.ARRAY(Uuid()))

        def restrict(a: Any, b: Any) -> Any:
            return (a if side == "a" else b).id == any_(ids)

    else:
        ids = bindparam("ids", expanding=True)

        def restrict(a: Any, b: Any) -> Any:
            return (a if side == "a" else b).id.in_(ids)

    return matches(dialect, resolved, restrict)


def _restricted(
    session: AsyncSession, catalogue: Catalogue, written: Mapping[uuid.UUID, str]
) -> Iterator[tuple[Select[Any], list[uuid.UUID]]]:
    """Each rule's SELECT with one side restricted to the ``written`` enrolments of its
    programmes, and the ids to bind; rules that name none of their programmes are skipped."""
    by_programme: dict[str, list[uuid.UUID]] = {}
    for enrolment_id, programme in written.items():
        by_programme.setdefault(programme, []).append(enrolment_id)
    dialect = dialect_of(session)
    for resolved in resolve(catalogue):
        for side, codes in (("a", resolved.a), ("b", resolved.b)):
            ids = [i for code in codes & by_programme.keys() for i in by_programme[code]]
            if ids:
                yield _statement(dialect, resolved, side), ids


async def find_for_enrolments(
    session: AsyncSession,
    catalogue: Catalogue,
    written: Mapping[uuid.UUID, str],
    *,
    found_by: str,
    now: dt.datetime,
) -> int:
    """Store the findings that the ``written`` enrolments (id → programme) take part in,
    against any stored enrolment; how many were new."""
    new = 0
    for query, ids in _restricted(session, catalogue, written):
        new += await store.record(session, query, found_by=found_by, now=now, params={"ids": ids})
    return new


async def current_pairs(
    session: AsyncSession, catalogue: Catalogue, written: Mapping[uuid.UUID, str]
) -> set[tuple[str, uuid.UUID, uuid.UUID]]:
    """The (rule, enrolment a, enrolment b) that the rules match today among the pairs the
    ``written`` enrolments take part in (hub.duplicates.revisit asks whether a finding holds)."""
    pairs: set[tuple[str, uuid.UUID, uuid.UUID]] = set()
    for query, ids in _restricted(session, catalogue, written):
        matched = query.subquery("m")
        rows = await session.execute(
            select(matched.c.rule_id, matched.c.enrolment_a, matched.c.enrolment_b),
            {"ids": ids},
        )
        pairs.update((rule, a, b) for rule, a, b in rows.all())
    return pairs
