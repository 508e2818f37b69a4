"""Builders for policy tests: consents and requests with sensible defaults, and `run`, which
decides against the shipped catalogue unless told otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consent.policy import Decision, Request, decide, sensitive_categories_of
from schemas.catalogue import load_catalogue
from schemas.consent import CollectionMethod, Consent
from schemas.legal_basis import LegalBasis
from schemas.organisation import OrganisationKind

CATALOGUE = load_catalogue()
BASES: tuple[LegalBasis, ...] = tuple(CATALOGUE.legal_bases.values())
SENSITIVE = sensitive_categories_of(CATALOGUE)

NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
FORM = "ab" * 32
GIVEN = NOW - 60 * DAY
"""When every test consent was signed: before any validity period or withdrawal a test uses."""


def consent(
    suffix: str = "a",
    *,
    recipients: tuple[str, ...] = ("WC-ARA",),
    purposes: tuple[str, ...] = ("case.management",),
    data_categories: tuple[str, ...] = ("case.record",),
    valid_from: datetime = NOW - 30 * DAY,
    valid_until: datetime | None = None,
    withdrawn_at: datetime | None = None,
    withdrawal_reason: str = "withdrawn at the centre",
) -> Consent:
    return Consent(
        id=f"cns_{suffix:0>16}",
        controller="JEJU-ARA",
        recipients=recipients,
        purposes=purposes,
        data_categories=data_categories,
        valid_from=valid_from,
        valid_until=valid_until,
        collection_method=CollectionMethod.WRITTEN,
        form_sha256=FORM,
        given_at=GIVEN,
        recorded_at=GIVEN,
        withdrawn_at=withdrawn_at,
        withdrawal_reason=None if withdrawn_at is None else withdrawal_reason,
    )


def request(
    *categories: str,
    organisation: str = "WC-ARA",
    kind: OrganisationKind = OrganisationKind.WELFARE_CENTRE,
    purpose: str = "case.management",
    own_programme: bool = False,
    programme: str | None = None,
) -> Request:
    return Request(
        organisation=organisation,
        organisation_kind=kind,
        purpose=purpose,
        data_categories=categories or ("case.record",),
        own_programme=own_programme,
        programme=programme,
    )


def run(
    req: Request,
    consents: tuple[Consent, ...] = (),
    bases: tuple[LegalBasis, ...] = BASES,
    *,
    sensitive: frozenset[str] = SENSITIVE,
    now: datetime = NOW,
) -> Decision:
    return decide(req, consents, bases, now, sensitive_categories=sensitive)
