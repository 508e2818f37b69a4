"""Writing disclosure-log entries.

House rule (DESIGN.md): a disclosure is released only after its entry has committed. `record`
adds the entry to the caller's transaction; the disclosing endpoint commits before it builds
the response, so if the entry cannot be written the request fails and nothing is released.
A refusal is recorded the same way, in a short transaction of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Executable, Insert, Row, Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.models import AuditPending, DisclosureEntry
from hub.database import Executor, dialect_of
from hub.kit import driver
from hub.vault import KeySet, log_subject_ref
from schemas.disclosure import Disclosure


def subject_of(keyset: KeySet, person_id: uuid.UUID) -> str:
    """The person's pseudonym in the log (never an RRN or a name; DESIGN.md)."""
    return log_subject_ref(keyset, person_id)


_COLUMNS = (
    "recorded_at",
    "action",
    "organisation",
    "client_id",
    "actor",
    "subject_ref",
    "purpose",
    "basis",
    "data_categories",
    "fields",
    "decision",
    "reason",
    "request_id",
    "rule_set_hash",
)


def _values(disclosure: Disclosure) -> dict[str, Any]:
    """The entry's columns, as stored."""
    return {
        "recorded_at": disclosure.recorded_at,
        "action": disclosure.action,
        "organisation": disclosure.organisation,
        "client_id": disclosure.client_id,
        "actor": disclosure.actor,
        "subject_ref": disclosure.subject_ref,
        "purpose": disclosure.purpose,
        "basis": disclosure.basis,
        "data_categories": list(disclosure.data_categories),
        "fields": list(disclosure.fields),
        "decision": disclosure.decision.value,
        "reason": disclosure.reason,
        "request_id": disclosure.request_id,
        "rule_set_hash": disclosure.rule_set_hash,
    }


def entry_row(disclosure: Disclosure) -> DisclosureEntry:
    return DisclosureEntry(**_values(disclosure))


def as_disclosure(row: DisclosureEntry | Row[Any]) -> Disclosure:
    """The entry as it is stored (a mapped object or a Core row of its table), re-validated:
    what the Merkle leaf commits to."""
    return Disclosure.model_validate(
        {
            "recorded_at": row.recorded_at,
            "action": row.action,
            "organisation": row.organisation,
            "client_id": row.client_id,
            "actor": row.actor,
            "subject_ref": row.subject_ref,
            "purpose": row.purpose,
            "basis": row.basis,
            "data_categories": tuple(row.data_categories),
            "fields": tuple(row.fields),
            "decision": row.decision,
            "reason": row.reason,
            "request_id": row.request_id,
            "rule_set_hash": row.rule_set_hash,
        }
    )


_ENTRY = cast(Table, DisclosureEntry.__table__)
_PENDING = cast(Table, AuditPending.__table__)
# Named parameters (`entry_<column>`), since the INSERT inside a CTE takes no implicit ones.
_INSERT_ENTRY = (
    insert(_ENTRY)
    .values({name: bindparam(f"entry_{name}") for name in _COLUMNS})
    .returning(_ENTRY.c.id)
)
_QUEUE = insert(_PENDING)


def _entry_and_queue() -> Insert:
    """PostgreSQL: the entry and its place in the sequencer's queue in one statement (a
    data-modifying CTE), so one round trip instead of two; both rows stay in the caller's
    transaction, so they commit or fail together as before."""
    entry = _INSERT_ENTRY.cte("entry")
    return (
        insert(_PENDING)
        .from_select(["entry_id"], select(entry.c.id))
        .returning(_PENDING.c.entry_id)
    )


_ENTRY_AND_QUEUE = _entry_and_queue()


_QUEUED = (
    insert(_PENDING)
    .from_select(["entry_id"], select(_INSERT_ENTRY.cte("entry").c.id))
    .returning(_PENDING.c.entry_id)
    .cte("queued")
)


@lru_cache(maxsize=32)
def _riding(statement: Executable) -> Executable:
    """`statement` with the entry and its queue row written by a data-modifying CTE: PostgreSQL
    runs it whether or not the query reads it (statements are prebuilt, so this is cached)."""
    return statement.add_cte(_QUEUED)  # type: ignore[attr-defined,no-any-return]


async def record_with(
    session: Executor,
    disclosure: Disclosure,
    statement: Executable,
    params: dict[str, Any],
) -> Sequence[Row[Any]]:
    """`record`, and run the read-only `statement` with `params`; its rows. On PostgreSQL both
    go in one statement, one round trip fewer for an answer that reads after its decision (the
    eligibility check, benchmarks/RESULTS.md); elsewhere one after the other. Either way both
    are in the caller's transaction, and the answer is released only after it commits."""
    if dialect_of(session) == "postgresql":
        entry = {f"entry_{name}": value for name, value in _values(disclosure).items()}
        if isinstance(session, AsyncConnection):
            return await driver.rows(session, _riding(statement), params | entry)
        return (await session.execute(_riding(statement), params | entry)).all()
    await record(session, disclosure)
    return (await session.execute(statement, params)).all()


async def record(session: Executor, disclosure: Disclosure) -> DisclosureEntry:
    """Add one entry to the session's transaction, queued for the sequencer, and execute it at
    once (so a failure surfaces here). Prebuilt Core statements, no ORM unit of work: this
    runs for every disclosure and refusal. Returns the entry as written (with its id)."""
    values = _values(disclosure)
    params = {f"entry_{name}": value for name, value in values.items()}
    if dialect_of(session) == "postgresql":
        entry_id = (await session.execute(_ENTRY_AND_QUEUE, params)).scalar_one()
    else:
        entry_id = (await session.execute(_INSERT_ENTRY, params)).scalar_one()
        await session.execute(_QUEUE, {"entry_id": entry_id})
    return DisclosureEntry(id=entry_id, **values)
