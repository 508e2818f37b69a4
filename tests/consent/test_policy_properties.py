"""Properties over random requests, consents and statutes: a permit releases exactly what was
asked, on a basis that covers all of it (never a sensitive category on a statute); a refusal
releases nothing; and the decision is the one an independent oracle expects, in any input order.

Statutes are either the shipped ones or random ones that break the loader's invariants (a
welfare centre on a statute, sensitive categories listed) so that decide's own guards are tested.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from consent.policy import Decision, DenialCode, Request, decide
from schemas.consent import Consent
from schemas.legal_basis import LegalBasis
from schemas.organisation import OrganisationKind
from tests.consent.builders import BASES, CATALOGUE, DAY, NOW, SENSITIVE, consent

PROPERTY = settings(max_examples=200, deadline=None)

ORGS = ["MOHW", "LH", "JEJU-ARA", "WC-ARA", "BAI", "MOIS-RRS"]
PURPOSES = [*CATALOGUE.purposes, "unknown.purpose"]
CATEGORIES = [*CATALOGUE.data_categories, "unknown.category"]


def _subset(values: list[str], max_size: int) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=max_size, unique=True).map(tuple)


requests = st.builds(
    Request,
    organisation=st.sampled_from(ORGS),
    organisation_kind=st.sampled_from(list(OrganisationKind)),
    purpose=st.sampled_from(PURPOSES),
    data_categories=_subset(CATEGORIES, 4),
    own_programme=st.booleans(),
)

# Whole days around NOW, so that boundaries (withdrawn at now, valid until now) come up often.
days = st.integers(min_value=-3, max_value=3).map(lambda n: NOW + n * DAY)


@st.composite
def consent_fields(draw: st.DrawFn) -> dict[str, Any]:
    valid_from = draw(st.integers(min_value=-3, max_value=1).map(lambda n: NOW + n * DAY))
    length = draw(st.none() | st.integers(min_value=1, max_value=4))
    return {
        "recipients": draw(_subset(ORGS, 3)),
        "purposes": draw(_subset(PURPOSES, 3)),
        "data_categories": draw(_subset(CATEGORIES, 8)),
        "valid_from": valid_from,
        "valid_until": None if length is None else valid_from + length * DAY,
        "withdrawn_at": draw(
            st.sampled_from([False, False, True]).flatmap(
                lambda withdrawn: days if withdrawn else st.none()
            )
        ),
    }


consent_lists = st.lists(consent_fields(), max_size=4).map(
    lambda fields: tuple(consent(f"x{i}", **f) for i, f in enumerate(fields))
)


@st.composite
def random_bases(draw: st.DrawFn) -> tuple[LegalBasis, ...]:
    count = draw(st.integers(min_value=0, max_value=4))
    return tuple(
        BASES[0].model_copy(
            update={
                "code": f"rnd-{i}",
                "organisation_kinds": draw(
                    st.lists(st.sampled_from(list(OrganisationKind)), min_size=1, unique=True)
                ),
                "purposes": draw(_subset(PURPOSES, 3)),
                "data_categories": draw(_subset(CATEGORIES, 8)),
                "requires_own_programme": draw(st.booleans()),
            }
        )
        for i in range(count)
    )


bases = st.just(BASES) | random_bases()


# --- the oracle: the rules, written out directly ---------------------------------------


def active(c: Consent, now: datetime) -> bool:
    withdrawn = c.withdrawn_at is not None and c.withdrawn_at <= now
    ended = c.valid_until is not None and now >= c.valid_until
    return not withdrawn and c.valid_from <= now and not ended


def statute_covers(b: LegalBasis, r: Request) -> bool:
    return (
        r.organisation_kind in b.organisation_kinds
        and r.purpose in b.purposes
        and (r.own_programme or not b.requires_own_programme)
        and all(c in b.data_categories and c not in SENSITIVE for c in r.data_categories)
    )


def consent_covers(c: Consent, r: Request) -> bool:
    return (
        active(c, NOW)
        and r.organisation in c.recipients
        and r.purpose in c.purposes
        and all(cat in c.data_categories for cat in r.data_categories)
    )


def expected_basis(r: Request, cs: tuple[Consent, ...], bs: tuple[LegalBasis, ...]) -> str | None:
    statutes = sorted(b.code for b in bs if statute_covers(b, r))
    if statutes:
        return f"statute:{statutes[0]}"
    consents = sorted(c.id for c in cs if consent_covers(c, r))
    return f"consent:{consents[0]}" if consents else None


def check(r: Request, cs: tuple[Consent, ...], bs: tuple[LegalBasis, ...], got: Decision) -> None:
    assert got.basis == expected_basis(r, cs, bs)
    event(got.basis.partition(":")[0] if got.basis else f"refused: {got.code}")
    if got.permitted:
        assert got.basis is not None
        assert got.released == tuple(sorted(r.data_categories))
        kind, _, ref = got.basis.partition(":")
        if kind == "statute":
            (basis,) = [b for b in bs if b.code == ref]
            assert statute_covers(basis, r)
            assert set(got.released) <= set(basis.data_categories)
            assert not set(got.released) & SENSITIVE
        else:
            (named,) = [c for c in cs if c.id == ref]
            assert consent_covers(named, r)
            assert set(got.released) <= set(named.data_categories)
        assert got.code is None
        assert got.refused == ()
    else:
        assert got.released == ()
        assert got.code is not None
        assert set(got.refused) <= set(r.data_categories)
        if got.code is DenialCode.NO_SINGLE_BASIS:
            assert got.refused == ()
        else:
            assert got.refused
    assert got.reasons


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Request, tuple[Consent, ...], tuple[LegalBasis, ...]]:
    """Half of the requests are aimed at a drawn statute or consent, so permits and near misses
    (wrong state, recipient, purpose, own programme, one category too many) are common."""
    bs = draw(bases)
    cs = draw(consent_lists)
    r = draw(requests)
    targets: list[LegalBasis | Consent] = [*bs, *cs]
    if not targets or draw(st.booleans()):
        return r, cs, bs
    target = draw(st.sampled_from(targets))
    categories = draw(_subset(list(target.data_categories), 4))
    if draw(st.integers(0, 3)) == 0:
        categories = tuple(dict.fromkeys((*categories, draw(st.sampled_from(CATEGORIES)))))
    update: dict[str, Any] = {
        "purpose": draw(st.sampled_from(target.purposes)),
        "data_categories": categories,
    }
    if isinstance(target, LegalBasis):
        update["organisation_kind"] = draw(st.sampled_from(target.organisation_kinds))
    else:
        update["organisation"] = draw(st.sampled_from(target.recipients))
    return r.model_copy(update=update), cs, bs


@PROPERTY
@given(scenario=scenarios())
def test_no_decision_releases_a_category_no_basis_covers(
    scenario: tuple[Request, tuple[Consent, ...], tuple[LegalBasis, ...]],
) -> None:
    r, cs, bs = scenario
    got = decide(r, cs, bs, NOW, sensitive_categories=SENSITIVE)
    check(r, cs, bs, got)
    assert decide(r, cs[::-1], bs[::-1], NOW, sensitive_categories=SENSITIVE) == got


@PROPERTY
@given(r=requests, cs=consent_lists)
def test_a_consent_naming_the_requester_and_purpose_is_never_reported_missing(
    r: Request, cs: tuple[Consent, ...]
) -> None:
    cs = tuple(
        c.model_copy(
            update={
                "recipients": (r.organisation,),
                "purposes": (r.purpose, *(p for p in c.purposes if p != r.purpose)),
            }
        )
        for c in cs
    )
    got = decide(r, cs, BASES, NOW, sensitive_categories=SENSITIVE)
    check(r, cs, BASES, got)
    if cs:
        assert got.code not in {
            DenialCode.NO_BASIS,
            DenialCode.RECIPIENT_NOT_NAMED,
            DenialCode.PURPOSE_NOT_CONSENTED,
        }
