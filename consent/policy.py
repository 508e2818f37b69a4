"""The disclosure decision: may this organisation receive these data categories for this purpose?

Every disclosure passes `decide`, which is pure: it takes the request, the subject's consent
records, the statutory bases of the catalogue and the instant to judge at, and returns a
`Decision` that names one basis, the categories released and its reasons. It reads no clock,
database or file, so the same inputs always give the same decision and the log can replay it.

Rules (DESIGN.md "Deny by default"; DOMAIN.md "Consent and legal bases"):

* A statute ``B`` covers the request when the requester's kind is in ``B.organisation_kinds``,
  the purpose is in ``B.purposes``, the request is for the requester's own programme where
  ``B.requires_own_programme`` (사회보장급여법 §7: a 보장기관 investigates its own applicants),
  and every requested category is in ``B.data_categories`` and is not sensitive. Sensitive
  categories (PIPA §23) are never released on a statute, whatever the statute lists.
* A consent ``C`` covers the request when it is active at ``now`` (PIPA §37: a withdrawal takes
  effect at once; ``valid_until`` is exclusive), names the requester among its recipients
  (PIPA §17(2)1), names the purpose (PIPA §22: each purpose separately) and names every
  requested category (so a sensitive category needs a consent that names it, PIPA §23).
* One basis must cover every requested category: the log records one basis per disclosure, and
  a request with anything outside it is refused whole (nothing is half-released).
* A covering statute is preferred to a covering consent: a public body's statutory task should
  rest on the statute (PIPA §15(1)2-3), not on a consent the person may withdraw tomorrow; the
  consent is still named in the reasons. Ties go to the lowest code, then the lowest consent id.

Order of checks on a refusal (the first that holds gives ``Decision.code``):

1. Nothing speaks to this requester and purpose (no statute for its kind and the purpose, no
   consent naming it for the purpose): ``purpose_not_consented`` if an active consent names the
   requester for other purposes, else ``recipient_not_named`` if an active consent names the
   purpose for other recipients, else ``no_basis``.
2. Every category is allowed by some usable basis but none allows them all: ``no_single_basis``
   (``refused`` is empty; the reasons say which basis covers what, so the caller can split).
3. A statute or consent for this requester and purpose would cover everything but cannot be
   used now: ``not_own_programme`` or ``consent_withdrawn`` / ``consent_expired`` /
   ``consent_not_yet_valid`` (statutes first, then by code or id).
4. A refused category is sensitive: ``sensitive_needs_consent``.
5. Otherwise: ``category_not_allowed``.

``refused`` is the requested categories that no *usable* basis allows (statutes for the kind,
purpose and own-programme flag; active consents naming the requester and purpose). Reasons use
codes, ids and instants only, never personal data.

The caller passes only the subject's own consents (decide never sees the subject) and
establishes ``own_programme`` itself (the eligibility service checks that the programme in the
request belongs to the requester); decide only reads the flag.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field, StrictBool, model_validator

from schemas.common import (
    FROZEN_STRICT,
    DataCategoryCode,
    OrganisationCode,
    ProgrammeCode,
    PurposeCode,
)
from schemas.consent import Consent, ConsentState
from schemas.legal_basis import LegalBasis
from schemas.organisation import OrganisationKind

if TYPE_CHECKING:
    from schemas.catalogue.loader import Catalogue

STATUTE = "statute:"
CONSENT = "consent:"


class DenialCode(StrEnum):
    """Why a request was refused; stable, so the API can map each to a problem type."""

    NO_BASIS = "no_basis"
    PURPOSE_NOT_CONSENTED = "purpose_not_consented"
    RECIPIENT_NOT_NAMED = "recipient_not_named"
    NO_SINGLE_BASIS = "no_single_basis"
    NOT_OWN_PROGRAMME = "not_own_programme"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_EXPIRED = "consent_expired"
    CONSENT_NOT_YET_VALID = "consent_not_yet_valid"
    SENSITIVE_NEEDS_CONSENT = "sensitive_needs_consent"
    CATEGORY_NOT_ALLOWED = "category_not_allowed"


_STATE_CODES = {
    ConsentState.WITHDRAWN: DenialCode.CONSENT_WITHDRAWN,
    ConsentState.EXPIRED: DenialCode.CONSENT_EXPIRED,
    ConsentState.NOT_YET_VALID: DenialCode.CONSENT_NOT_YET_VALID,
}


class Request(BaseModel):
    """What an organisation asks to receive about one person, and why."""

    model_config = FROZEN_STRICT

    organisation: OrganisationCode
    organisation_kind: OrganisationKind
    purpose: PurposeCode
    data_categories: Annotated[tuple[DataCategoryCode, ...], Field(min_length=1)]
    own_programme: StrictBool = False
    """Set by the caller once it has established that the person applies for, or is enrolled
    in, one of the requester's own programmes. False (the default) denies by default."""
    programme: ProgrammeCode | None = None
    """The programme the request is for, if any; used only in reasons."""

    @model_validator(mode="after")
    def _distinct(self) -> Request:
        if len(set(self.data_categories)) != len(self.data_categories):
            raise ValueError("data_categories lists a category twice")
        return self


class Decision(BaseModel):
    """The outcome: permitted on one basis, releasing exactly the requested categories, or
    refused, releasing nothing."""

    model_config = FROZEN_STRICT

    permitted: StrictBool
    basis: str | None = None
    """``statute:<code>`` or ``consent:<id>`` when permitted; None on a refusal."""
    code: DenialCode | None = None
    """Why it was refused; None when permitted."""
    released: tuple[DataCategoryCode, ...] = ()
    """Sorted; the requested categories when permitted, empty on a refusal."""
    refused: tuple[DataCategoryCode, ...] = ()
    """Sorted; requested categories no usable basis allows (empty when permitted)."""
    reasons: Annotated[tuple[str, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _coherent(self) -> Decision:
        if self.permitted:
            if self.basis is None or self.code is not None or not self.released or self.refused:
                raise ValueError("a permit names a basis and releases something, nothing else")
        elif self.basis is not None or self.code is None or self.released:
            raise ValueError("a refusal names a code and releases nothing")
        return self


def sensitive_categories_of(catalogue: Catalogue) -> frozenset[str]:
    """The catalogue's sensitive categories (PIPA §23), for ``decide(sensitive_categories=)``."""
    return frozenset(code for code, c in catalogue.data_categories.items() if c.sensitive)


def decide(
    request: Request,
    consents: Iterable[Consent],
    legal_bases: Iterable[LegalBasis],
    now: datetime,
    *,
    sensitive_categories: Collection[str],
) -> Decision:
    """Permit or refuse ``request`` at ``now`` (see the module docstring for rules and order).

    ``consents`` are the subject's consent records, in any state; ``legal_bases`` the catalogue's
    statutes (``catalogue.legal_bases.values()``); ``sensitive_categories`` the categories never
    released on a statute (``sensitive_categories_of(catalogue)``). Input order is irrelevant.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return _Judgement(request, consents, legal_bases, now, frozenset(sensitive_categories)).run()


def _listed(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


class _Judgement:
    """One decision's working state; split out so each step reads as a named rule."""

    def __init__(
        self,
        request: Request,
        consents: Iterable[Consent],
        legal_bases: Iterable[LegalBasis],
        now: datetime,
        sensitive: frozenset[str],
    ) -> None:
        self.request = request
        self.who = f"{request.organisation} ({request.organisation_kind.value})"
        self.now = now
        self.sensitive = sensitive
        self.requested = frozenset(request.data_categories)
        self.statutes = sorted(legal_bases, key=lambda b: b.code)
        self.consents = sorted(consents, key=lambda c: c.id)
        for name, keys in (
            ("legal basis code", [b.code for b in self.statutes]),
            ("consent id", [c.id for c in self.consents]),
        ):
            if len(set(keys)) != len(keys):
                raise ValueError(f"a {name} is given twice")
        kind, purpose, org = request.organisation_kind, request.purpose, request.organisation
        # Relevant: speaks to this requester and purpose. Usable: may be relied on now.
        self.statutes_relevant = [
            b for b in self.statutes if kind in b.organisation_kinds and purpose in b.purposes
        ]
        self.consents_relevant = [
            c for c in self.consents if org in c.recipients and purpose in c.purposes
        ]
        self.statutes_usable = [
            b
            for b in self.statutes_relevant
            if request.own_programme or not b.requires_own_programme
        ]
        self.consents_usable = [
            c for c in self.consents_relevant if c.state(now) is ConsentState.ACTIVE
        ]

    # -- what each basis allows ---------------------------------------------------------------

    def statute_allows(self, basis: LegalBasis) -> frozenset[str]:
        """PIPA §23: a statute never releases a sensitive category, whatever it lists."""
        return frozenset(basis.data_categories) - self.sensitive

    @staticmethod
    def consent_allows(consent: Consent) -> frozenset[str]:
        return frozenset(consent.data_categories)

    # -- the decision -------------------------------------------------------------------------

    def run(self) -> Decision:
        statute = next(
            (b for b in self.statutes_usable if self.requested <= self.statute_allows(b)), None
        )
        consent = next(
            (c for c in self.consents_usable if self.requested <= self.consent_allows(c)), None
        )
        if statute is not None:
            return self.permit_on_statute(statute, consent)
        if consent is not None:
            return self.permit_on_consent(consent)
        return self.refuse()

    def permit_on_statute(self, basis: LegalBasis, consent: Consent | None) -> Decision:
        r = self.request
        reason = (
            f"{STATUTE}{basis.code} ({basis.statute_en}, {basis.article}) lets {self.who} "
            f"receive {_listed(self.requested)} for {r.purpose}"
        )
        if basis.requires_own_programme:
            reason += " for its own programme" + (f" {r.programme}" if r.programme else "")
        reasons = [reason]
        if consent is not None:
            reasons.append(
                f"{CONSENT}{consent.id} also covers the request; the statute is recorded because "
                "it does not depend on the person's continued consent"
            )
        return self.permit(STATUTE + basis.code, reasons)

    def permit_on_consent(self, consent: Consent) -> Decision:
        r = self.request
        reasons = [
            f"{CONSENT}{consent.id} (controller {consent.controller}) names {r.organisation} as "
            f"a recipient for {r.purpose} and covers {_listed(self.requested)}; active at "
            f"{self.now.isoformat()}"
        ]
        sensitive = self.requested & self.sensitive
        if sensitive:
            reasons.append(
                f"{_listed(sensitive)} are sensitive (PIPA §23) and are released only because "
                f"{CONSENT}{consent.id} names them"
            )
        return self.permit(CONSENT + consent.id, reasons)

    def permit(self, basis: str, reasons: Sequence[str]) -> Decision:
        return Decision(
            permitted=True,
            basis=basis,
            released=tuple(sorted(self.requested)),
            reasons=tuple(reasons),
        )

    # -- refusals, in the documented order ----------------------------------------------------

    def refuse(self) -> Decision:
        allowed: set[str] = set()
        for b in self.statutes_usable:
            allowed |= self.statute_allows(b)
        for c in self.consents_usable:
            allowed |= self.consent_allows(c)
        refused = tuple(sorted(self.requested - allowed))
        code, primary, shown = self.explain(refused)
        reasons = [primary]
        if refused:
            reasons.append(f"refused whole; not allowed: {_listed(refused)}")
        reasons.extend(self.unusable_reasons(exclude=shown))
        return Decision(permitted=False, code=code, refused=refused, reasons=tuple(reasons))

    def explain(self, refused: tuple[str, ...]) -> tuple[DenialCode, str, str | None]:
        """The code, the primary reason, and the basis that reason is about (if any)."""
        r = self.request
        if not self.statutes_relevant and not self.consents_relevant:
            return self.explain_nothing_relevant()
        if not refused:
            return DenialCode.NO_SINGLE_BASIS, self.split_reason(), None
        for b in self.statutes_relevant:
            if b not in self.statutes_usable and self.requested <= self.statute_allows(b):
                return DenialCode.NOT_OWN_PROGRAMME, self.not_own_reason(b), STATUTE + b.code
        for c in self.consents_relevant:
            if c not in self.consents_usable and self.requested <= self.consent_allows(c):
                code = _STATE_CODES[c.state(self.now)]
                return code, self.consent_state_reason(c), CONSENT + c.id
        sensitive = set(refused) & self.sensitive
        if sensitive:
            why = f"{_listed(sensitive)} are sensitive (PIPA §23) and are released only on a "
            why += f"consent that names them; no active consent naming {r.organisation} for "
            return DenialCode.SENSITIVE_NEEDS_CONSENT, f"{why}{r.purpose} does", None
        usable = [STATUTE + b.code for b in self.statutes_usable]
        usable += [CONSENT + c.id for c in self.consents_usable]
        return (
            DenialCode.CATEGORY_NOT_ALLOWED,
            f"no usable basis lets {self.who} receive {_listed(refused)} for {r.purpose}; "
            f"usable bases: {_listed(usable) or 'none'}",
            None,
        )

    def explain_nothing_relevant(self) -> tuple[DenialCode, str, str | None]:
        r = self.request
        no_statute = f"no legal basis lets {self.who} receive data for {r.purpose}"
        active = [c for c in self.consents if c.state(self.now) is ConsentState.ACTIVE]
        for c in active:
            if r.organisation in c.recipients:
                return (
                    DenialCode.PURPOSE_NOT_CONSENTED,
                    f"{CONSENT}{c.id} names {r.organisation} as a recipient but not for "
                    f"{r.purpose} (PIPA §22: each purpose is consented to separately); "
                    f"{no_statute}",
                    CONSENT + c.id,
                )
        for c in active:
            if r.purpose in c.purposes:
                return (
                    DenialCode.RECIPIENT_NOT_NAMED,
                    f"{CONSENT}{c.id} covers {r.purpose} but does not name {r.organisation} as "
                    f"a recipient (PIPA §17(2)1); {no_statute}",
                    CONSENT + c.id,
                )
        return (
            DenialCode.NO_BASIS,
            f"{no_statute}, and no consent names {r.organisation} as a recipient for it "
            "(deny by default)",
            None,
        )

    def split_reason(self) -> str:
        parts = [
            f"{STATUTE}{b.code} covers {_listed(self.requested & self.statute_allows(b))}"
            for b in self.statutes_usable
            if self.requested & self.statute_allows(b)
        ]
        parts += [
            f"{CONSENT}{c.id} covers {_listed(self.requested & self.consent_allows(c))}"
            for c in self.consents_usable
            if self.requested & self.consent_allows(c)
        ]
        return (
            "each requested category is allowed by some basis but no single basis allows them "
            "all; a disclosure records one basis, so ask for them separately: " + "; ".join(parts)
        )

    def not_own_reason(self, basis: LegalBasis) -> str:
        r = self.request
        programme = f" (programme {r.programme})" if r.programme else ""
        return (
            f"{STATUTE}{basis.code} applies to {self.who} for {r.purpose} only for its own "
            f"programme; the request{programme} is not for one of its own programmes"
        )

    def consent_state_reason(self, consent: Consent) -> str:
        state = consent.state(self.now)
        ref = f"{CONSENT}{consent.id}"
        if state is ConsentState.WITHDRAWN:
            assert consent.withdrawn_at is not None
            return f"{ref} was withdrawn at {consent.withdrawn_at.isoformat()} (PIPA §37)"
        if state is ConsentState.EXPIRED:
            assert consent.valid_until is not None
            return f"{ref} expired at {consent.valid_until.isoformat()}"
        return f"{ref} is valid only from {consent.valid_from.isoformat()}"

    def unusable_reasons(self, exclude: str | None) -> list[str]:
        """One line per basis that speaks to this requester and purpose but cannot be used."""
        lines = [
            self.not_own_reason(b)
            for b in self.statutes_relevant
            if b not in self.statutes_usable and STATUTE + b.code != exclude
        ]
        lines += [
            self.consent_state_reason(c)
            for c in self.consents_relevant
            if c not in self.consents_usable and CONSENT + c.id != exclude
        ]
        return lines
