"""Writing disclosure-log entries.

House rule (DESIGN.md): a disclosure is released only after its entry has committed. `record`
adds the entry to the caller's transaction; the disclosing endpoint commits before it builds
the response, so if the entry cannot be written the request fails and nothing is released.
A refusal is recorded the same way, in a short transaction of its own.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import AuditPending, DisclosureEntry
from hub.vault import KeySet, log_subject_ref
from schemas.disclosure import Disclosure


def subject_of(keyset: KeySet, person_id: uuid.UUID) -> str:
    """The person's pseudonym in the log (never an RRN or a name; DESIGN.md)."""
    return log_subject_ref(keyset, person_id)


def entry_row(disclosure: Disclosure) -> DisclosureEntry:
    return DisclosureEntry(
        recorded_at=disclosure.recorded_at,
        action=disclosure.action,
        organisation=disclosure.organisation,
        client_id=disclosure.client_id,
        actor=disclosure.actor,
        subject_ref=disclosure.subject_ref,
        purpose=disclosure.purpose,
        basis=disclosure.basis,
        data_categories=list(disclosure.data_categories),
        fields=list(disclosure.fields),
        decision=disclosure.decision.value,
        reason=disclosure.reason,
        request_id=disclosure.request_id,
        rule_set_hash=disclosure.rule_set_hash,
    )


def as_disclosure(row: DisclosureEntry) -> Disclosure:
    """The entry as it is stored, re-validated: what the Merkle leaf commits to."""
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


async def record(session: AsyncSession, disclosure: Disclosure) -> DisclosureEntry:
    """Add one entry to the session's transaction and flush it (so a failure surfaces here)."""
    row = entry_row(disclosure)
    session.add(row)
    await session.flush()
    session.add(AuditPending(entry_id=row.id))
    await session.flush()
    return row
