"""Auditors' queries over the disclosure log, its proofs, and a person's disclosure history.

Each operation computes its answer, then adds its own log entry to the request's transaction
(audit.log.record): the caller commits before it releases anything, so an answer whose entry
did not commit is never sent (DESIGN.md, house rules). Checkpoints and proofs carry hashes
only, no personal data, and are not logged when permitted: monitors poll them, and logging
each would grow the log with its own verification. Refusals are logged for every operation.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from audit import prune, queries, tree
from audit.log import as_disclosure, subject_of
from audit.models import AuditCheckpoint
from hub.database import Database
from hub.disclosures.context import Context, record
from hub.kit.errors import Forbidden, Gone, InvalidInput, NotFound
from hub.oversight import repository
from hub.oversight.access import (
    AUDIT_OVERSIGHT,
    LOG_ENTRIES,
    PSEUDONYM,
    SUBJECT_ACCESS,
    check_report_scope,
    permitted_basis,
)
from hub.records.repository import find_by_rrn
from hub.vault import KeyPurpose, log_subject_ref
from schemas.disclosure import Decision, Disclosure
from schemas.identifiers import ResidentRegistrationNumber

#: Fields of an entry that a list, a search or an export releases.
ENTRY_FIELDS = (
    "entry_id",
    "leaf_index",
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
#: Fields of each item of a subject report: who saw the person's data, when, why, on what basis.
REPORT_FIELDS = (
    "recorded_at",
    "action",
    "organisation",
    "actor",
    "purpose",
    "basis",
    "data_categories",
    "decision",
    "leaf_index",
)


@dataclass(frozen=True)
class Subject:
    """A person found by RRN: the internal id and their pseudonyms in the log."""

    person_id: uuid.UUID
    log_refs: tuple[str, ...]
    """One per usable pseudonym key, the primary key's first (entries keep the ref they were
    written with, so a search must match all of them)."""

    @property
    def log_ref(self) -> str:
        return self.log_refs[0]


@dataclass(frozen=True)
class Report:
    """A person's disclosure history, oldest first."""

    purpose: str
    basis: str
    items: list[queries.Listed]


@dataclass(frozen=True)
class Inclusion:
    index: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]
    root: bytes


@dataclass(frozen=True)
class Consistency:
    old: int
    new: int
    proof: list[bytes]
    old_root: bytes
    new_root: bytes


@dataclass(frozen=True)
class Sequenced:
    index: int
    entry: Disclosure
    leaf_hash: bytes


async def find_subject(
    session: AsyncSession, ctx: Context, rrn: ResidentRegistrationNumber
) -> Subject | None:
    person = await find_by_rrn(session, ctx.keyset, rrn)
    if person is None:
        return None
    primary = subject_of(ctx.keyset, person.id)
    others = (
        log_subject_ref(ctx.keyset, person.id, kid=key.kid)
        for key in ctx.keyset.keys_for(KeyPurpose.PSEUDONYM)
    )
    return Subject(person.id, tuple(dict.fromkeys([primary, *others])))


def _shown(items: list[queries.Listed]) -> tuple[list[str], list[str]]:
    """Data categories and fields a list of entries releases."""
    pseudonyms = any(item.entry.subject_ref is not None for item in items)
    categories = [LOG_ENTRIES, PSEUDONYM] if pseudonyms else [LOG_ENTRIES]
    fields = [f for f in ENTRY_FIELDS if pseudonyms or f != "subject_ref"]
    return categories, fields


async def _log_listing(
    session: AsyncSession,
    ctx: Context,
    *,
    action: str,
    items: list[queries.Listed],
    reason: str,
    subject_ref: str | None = None,
) -> None:
    categories, fields = _shown(items)
    basis = permitted_basis(
        ctx, action=action, purpose=AUDIT_OVERSIGHT, categories=categories, subject_ref=subject_ref
    )
    entry = ctx.entry(
        action=action,
        purpose=AUDIT_OVERSIGHT,
        decision=Decision.PERMIT,
        reason=reason,
        basis=basis,
        categories=categories,
        fields=fields,
        subject_ref=subject_ref,
    )
    await record(session, entry)


async def list_disclosures(
    session: AsyncSession,
    ctx: Context,
    filters: queries.Filters,
    *,
    cursor: str | None,
    limit: int,
) -> queries.Page:
    """A page of the log for an auditor, logged as `audit.disclosures.list`."""
    page = await queries.page(session, filters, cursor=cursor, limit=limit)
    reason = f"Listed {len(page.items)} log entries; filters: {filters.described()}."
    await _log_listing(
        session, ctx, action="audit.disclosures.list", items=page.items, reason=reason
    )
    return page


async def search_disclosures(
    session: AsyncSession,
    ctx: Context,
    rrn: ResidentRegistrationNumber,
    *,
    cursor: str | None,
    limit: int,
) -> queries.Page:
    """A page of one person's entries for an auditor; an unknown person gives an empty page
    like any other (no hint either way). Logged as `audit.disclosures.search` about the person."""
    subject = await find_subject(session, ctx, rrn)
    filters = queries.Filters(subject_refs=subject.log_refs if subject else ())
    page = await queries.page(session, filters, cursor=cursor, limit=limit)
    await _log_listing(
        session,
        ctx,
        action="audit.disclosures.search",
        items=page.items,
        reason=f"Searched the log by subject; {len(page.items)} entries shown.",
        subject_ref=subject.log_ref if subject else None,
    )
    return page


async def start_export(session: AsyncSession, ctx: Context, filters: queries.Filters) -> None:
    """Log an export before the first row leaves (`audit.disclosures.export`). The rows are
    not known yet, so the entry states the filters and every category a row may carry."""
    categories = [LOG_ENTRIES, PSEUDONYM]
    action = "audit.disclosures.export"
    basis = permitted_basis(
        ctx, action=action, purpose=AUDIT_OVERSIGHT, categories=categories, subject_ref=None
    )
    entry = ctx.entry(
        action=action,
        purpose=AUDIT_OVERSIGHT,
        decision=Decision.PERMIT,
        reason=f"Exported the log as CSV; filters: {filters.described()}.",
        basis=basis,
        categories=categories,
        fields=ENTRY_FIELDS,
    )
    await record(session, entry)


async def export_batches(
    db: Database, filters: queries.Filters
) -> AsyncIterator[list[queries.Listed]]:
    """The rows of an export, read in a session of their own (the request's has committed)."""
    async with db.sessions() as session:
        async for batch in queries.stream(session, filters):
            yield batch


async def read_entry(session: AsyncSession, ctx: Context, index: int) -> Sequenced:
    """The entry at leaf `index` with its stored leaf hash; logged as `audit.entries.read`."""
    row = await queries.entry_at(session, index)
    leaf = await tree.leaf_hash(session, index)
    if row is None and leaf is not None and index < await prune.pruned_size(session):
        raise Gone(
            f"The entry at leaf index {index} was pruned under the log's retention rules; its "
            "leaf hash and proofs are still answered."
        )
    if row is None or leaf is None:
        raise NotFound(f"No entry has been sequenced at leaf index {index}.")
    categories = [LOG_ENTRIES, PSEUDONYM] if row.subject_ref else [LOG_ENTRIES]
    action = "audit.entries.read"
    basis = permitted_basis(
        ctx, action=action, purpose=AUDIT_OVERSIGHT, categories=categories, subject_ref=None
    )
    entry = ctx.entry(
        action=action,
        purpose=AUDIT_OVERSIGHT,
        decision=Decision.PERMIT,
        reason=f"Read the log entry at leaf index {index}.",
        basis=basis,
        categories=categories,
        fields=["index", "entry", "leaf_hash"],
        subject_ref=row.subject_ref,
    )
    await record(session, entry)
    return Sequenced(index=index, entry=as_disclosure(row), leaf_hash=leaf)


async def subject_report(
    session: AsyncSession, ctx: Context, rrn: ResidentRegistrationNumber, purpose: str
) -> Report:
    """Who received the person's data, when, why and on what basis (PIPA §35).

    For auditors (`audit.oversight`, scope audit:read), and for an organisation serving the
    person (`subject.access`, scope subjects:report, PIPA §35 through the body that took the
    request). Items name organisations and actors, never the person's pseudonyms; an unknown
    person gives an auditor an empty report and anyone else the same refusal as a person they
    do not serve. Logged as `audit.subject_report` about the person; refusals too.
    """
    action = "audit.subject_report"
    if purpose not in ctx.catalogue.purposes:
        raise InvalidInput(
            f"Unknown purpose {purpose}.",
            errors=[{"field": "body.purpose", "reason": "not a purpose in the catalogue"}],
        )
    subject = await find_subject(session, ctx, rrn)
    ref = subject.log_ref if subject else None
    # Function level before object level: a token without the purpose's scope is refused as
    # such, whatever the policy would say (tests/robustness/test_access_matrix.py).
    check_report_scope(ctx, action=action, purpose=purpose, subject_ref=ref)
    basis = permitted_basis(
        ctx, action=action, purpose=purpose, categories=[LOG_ENTRIES], subject_ref=ref
    )
    if purpose == SUBJECT_ACCESS and (
        subject is None
        or not await repository.serves(session, ctx.requester.organisation, subject.person_id)
    ):
        error = Forbidden("Your organisation does not serve this person.")
        raise ctx.refused(error, action=action, purpose=purpose, subject_ref=ref)
    items = await queries.history(session, subject.log_refs if subject else ())
    entry = ctx.entry(
        action=action,
        purpose=purpose,
        decision=Decision.PERMIT,
        reason=f"Disclosure history of the person: {len(items)} entries.",
        basis=basis,
        categories=[LOG_ENTRIES],
        fields=REPORT_FIELDS,
        subject_ref=ref,
    )
    await record(session, entry)
    return Report(purpose=purpose, basis=basis, items=items)


# --- Checkpoints and proofs: hashes only, not logged when permitted ---------------------------


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint:
    checkpoint = await tree.latest_checkpoint(session)
    if checkpoint is None:
        raise NotFound("The disclosure log has no signed checkpoint yet.")
    return checkpoint


async def _checkpointed_size(session: AsyncSession) -> int:
    checkpoint = await tree.latest_checkpoint(session)
    return 0 if checkpoint is None else checkpoint.size


def _bad(field: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: {reason}.", errors=[{"field": f"query.{field}", "reason": reason}]
    )


async def inclusion(session: AsyncSession, index: int, size: int) -> Inclusion:
    """PATH(index, D[size]) with the leaf hash and the root at `size` (RFC 9162 §2.1.3)."""
    latest = await _checkpointed_size(session)
    if not 0 < size <= latest:
        raise _bad("size", f"must be between 1 and the latest checkpoint's size ({latest})")
    if not 0 <= index < size:
        raise _bad("index", f"must be below size ({size})")
    leaf = await tree.leaf_hash(session, index)
    assert leaf is not None  # every leaf below a checkpointed size is stored
    return Inclusion(
        index=index,
        size=size,
        leaf_hash=leaf,
        proof=await tree.inclusion_proof(session, index, size),
        root=await tree.root(session, size),
    )


async def consistency(session: AsyncSession, old: int, new: int) -> Consistency:
    """PROOF(old, D[new]) with both roots (RFC 9162 §2.1.4)."""
    latest = await _checkpointed_size(session)
    if not 0 < new <= latest:
        raise _bad("new", f"must be between 1 and the latest checkpoint's size ({latest})")
    if not 0 < old <= new:
        raise _bad("old", f"must be between 1 and new ({new})")
    old_root, new_root = await tree.range_hashes(session, [(0, old), (0, new)])
    return Consistency(
        old=old,
        new=new,
        proof=await tree.consistency_proof(session, old, new),
        old_root=old_root,
        new_root=new_root,
    )
