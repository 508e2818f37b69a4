"""The context of one disclosing request, its policy decision, and its log entry.

House rules (DESIGN.md): every disclosure passes `consent.policy.decide`; a disclosure is
released only after its entry has committed; a refusal is logged too, in a transaction of its
own. Features raise `Refused` (carrying the refusal's entry); the API layer writes that entry
and answers the error (hub.api.disclosing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Executable, Row
from sqlalchemy.exc import SQLAlchemyError

from audit import log
from consent import policy
from hub.database import Executor
from hub.kit.errors import HubError, ServiceUnavailable
from hub.vault import KeySet
from schemas.catalogue import Catalogue
from schemas.consent import Consent
from schemas.disclosure import Decision, Disclosure
from schemas.organisation import OrganisationKind


@dataclass(frozen=True)
class Requester:
    """The calling client, as the log records it."""

    organisation: str
    kind: str
    client_id: str
    actor: str | None
    scopes: frozenset[str]
    request_id: str | None


@dataclass(frozen=True)
class Context:
    """What every disclosure decision needs: who asks, the rules in force, the keys and now."""

    requester: Requester
    catalogue: Catalogue
    keyset: KeySet
    now: dt.datetime

    def decide(
        self,
        *,
        purpose: str,
        categories: Iterable[str],
        consents: Iterable[Consent] = (),
        own_programme: bool = False,
        programme: str | None = None,
    ) -> policy.Decision:
        """consent.policy.decide for this requester, under the catalogue's legal bases."""
        request = policy.Request(
            organisation=self.requester.organisation,
            organisation_kind=OrganisationKind(self.requester.kind),
            purpose=purpose,
            data_categories=tuple(dict.fromkeys(categories)),
            own_programme=own_programme,
            programme=programme,
        )
        return policy.decide(
            request,
            consents,
            self.catalogue.legal_bases.values(),
            self.now,
            sensitive_categories=policy.sensitive_categories_of(self.catalogue),
        )

    def decide_for(
        self,
        organisation: str,
        kind: OrganisationKind | str,
        *,
        purpose: str,
        categories: Iterable[str],
        consents: Iterable[Consent] = (),
    ) -> policy.Decision:
        """consent.policy.decide for another organisation than the requester: whether the
        recipient of a disclosure the requester makes (a case share, a referral; issue 8) may
        receive these categories, under the same rules, catalogue and instant."""
        request = policy.Request(
            organisation=organisation,
            organisation_kind=OrganisationKind(kind),
            purpose=purpose,
            data_categories=tuple(dict.fromkeys(categories)),
        )
        return policy.decide(
            request,
            consents,
            self.catalogue.legal_bases.values(),
            self.now,
            sensitive_categories=policy.sensitive_categories_of(self.catalogue),
        )

    def entry(
        self,
        *,
        action: str,
        purpose: str,
        decision: Decision,
        reason: str,
        basis: str | None = None,
        categories: Iterable[str] = (),
        fields: Iterable[str] = (),
        subject_ref: str | None = None,
    ) -> Disclosure:
        who = self.requester
        return Disclosure(
            recorded_at=self.now,
            action=action,
            organisation=who.organisation,
            client_id=who.client_id,
            actor=who.actor,
            subject_ref=subject_ref,
            purpose=purpose,
            basis=basis,
            data_categories=tuple(categories),
            fields=tuple(fields),
            decision=decision,
            reason=reason[:500],
            request_id=who.request_id,
            rule_set_hash=self.catalogue.hash,
        )

    def refused(
        self,
        error: HubError,
        *,
        action: str,
        purpose: str,
        subject_ref: str | None = None,
        reason: str | None = None,
    ) -> Refused:
        """The refusal to raise: `error` for the caller, and an entry whose reason may say
        more than the caller is told (e.g. the policy's full reasons)."""
        entry = self.entry(
            action=action,
            purpose=purpose,
            decision=Decision.DENY,
            reason=reason or error.detail,
            subject_ref=subject_ref,
        )
        return Refused(entry, error)


class Refused(Exception):
    """A refusal: `entry` is logged in its own transaction, then `error` is answered."""

    def __init__(self, entry: Disclosure, error: HubError) -> None:
        super().__init__(error.detail)
        self.entry = entry
        self.error = error


class LogUnavailable(ServiceUnavailable):
    """The entry could not be written, so nothing is released (DESIGN.md, house rules)."""

    slug = "disclosure-log-unavailable"
    title = "The disclosure could not be logged"


def log_unavailable(cause: Exception) -> LogUnavailable:
    """The error to answer when an entry did not commit; operators see the cause's type only
    (a database message may quote the entry)."""
    structlog.get_logger("hub.disclosures").error(
        "audit.entry_not_written", error=type(cause).__name__
    )
    return LogUnavailable("The disclosure log could not record this request; nothing was released.")


async def record(session: Executor, entry: Disclosure) -> None:
    """Add the entry to the request's transaction; a failure to write it fails the request."""
    try:
        await log.record(session, entry)
    except SQLAlchemyError as exc:
        raise log_unavailable(exc) from exc


async def record_with(
    session: Executor, entry: Disclosure, statement: Executable, params: dict[str, Any]
) -> Sequence[Row[Any]]:
    """`record`, with the read-only `statement` run in the same round trip where the database
    allows it (audit.log.record_with); its rows. A failure fails the request as `record`'s."""
    try:
        return await log.record_with(session, entry, statement, params)
    except SQLAlchemyError as exc:
        raise log_unavailable(exc) from exc
