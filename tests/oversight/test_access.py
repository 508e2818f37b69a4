"""Who may read the disclosure log, and on which catalogue legal basis (decided by
consent.policy over the shipped catalogue)."""

from __future__ import annotations

import pytest

from hub.disclosures.context import Context, Refused, Requester
from hub.kit.clock import utcnow
from hub.kit.errors import Forbidden, InsufficientScope
from hub.oversight import access
from hub.vault import KeySet
from schemas.catalogue import load_catalogue
from schemas.disclosure import Decision

CATALOGUE = load_catalogue()
LOG = ["audit.disclosure"]
LOG_AND_REFS = ["audit.disclosure", "identity.pseudonym"]


@pytest.mark.parametrize(
    ("kind", "purpose", "categories", "basis"),
    [
        ("auditor", "audit.oversight", LOG_AND_REFS, "statute:baia-audit"),
        ("auditor", "audit.oversight", [*LOG, "duplicate.finding"], "statute:baia-audit"),
        ("auditor", "subject.access", LOG, None),
        ("local_government", "subject.access", LOG, "statute:pipa-35-subject-access"),
        ("public_agency", "subject.access", LOG_AND_REFS, "statute:pipa-35-subject-access"),
        ("local_government", "audit.oversight", LOG, None),
        ("ministry", "subject.access", LOG, None),
        ("welfare_centre", "subject.access", LOG, None),
        ("local_government", "subject.access", [*LOG, "income.band"], None),
    ],
)
def test_the_basis_is_what_the_policy_finds_for_kind_purpose_and_categories(
    kind: str, purpose: str, categories: list[str], basis: str | None
) -> None:
    ctx = context(kind, "audit:read subjects:report")
    if basis is None:
        with pytest.raises(Refused) as refused:
            access.permitted_basis(
                ctx,
                action="audit.subject_report",
                purpose=purpose,
                categories=categories,
                subject_ref=None,
            )
        assert refused.value.entry.decision is Decision.DENY
        assert refused.value.entry.basis is None
    else:
        assert (
            access.permitted_basis(
                ctx,
                action="audit.subject_report",
                purpose=purpose,
                categories=categories,
                subject_ref=None,
            )
            == basis
        )


def context(kind: str, scopes: str) -> Context:
    requester = Requester(
        organisation="BAI",
        kind=kind,
        client_id="bai-1",
        actor="inspector-1",
        scopes=frozenset(scopes.split()),
        request_id="req_1",
    )
    return Context(requester, CATALOGUE, KeySet.generate(utcnow()), utcnow())


def test_an_auditor_with_the_scope_passes() -> None:
    access.check_auditor(context("auditor", "audit:read"), "audit.disclosures.list")


@pytest.mark.parametrize(
    ("kind", "scopes", "error"),
    [
        ("auditor", "", InsufficientScope),
        ("ministry", "records:write", InsufficientScope),
        ("ministry", "audit:read", Forbidden),
    ],
)
def test_others_are_refused_with_an_entry_to_log(
    kind: str, scopes: str, error: type[Exception]
) -> None:
    with pytest.raises(Refused) as refused:
        access.check_auditor(context(kind, scopes), "audit.disclosures.list")
    assert type(refused.value.error) is error
    entry = refused.value.entry
    assert entry.decision is Decision.DENY
    assert (entry.action, entry.purpose, entry.basis) == (
        "audit.disclosures.list",
        "audit.oversight",
        None,
    )
    assert (entry.organisation, entry.client_id, entry.actor) == ("BAI", "bai-1", "inspector-1")
    assert entry.reason == refused.value.error.detail
    assert entry.rule_set_hash == CATALOGUE.hash
