"""Consent as a basis: state at `now`, recipients, purposes, categories, sensitive data, and how
consent and statute combine. Scenario: the 아라동 community welfare centre (WC-ARA) co-manages a
case with the 동 team (JEJU-ARA) under the person's consent, and loses access on withdrawal."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from consent.policy import Decision, DenialCode, Request, decide
from schemas.organisation import OrganisationKind
from tests.consent.builders import DAY, NOW, consent, request, run

TICK = timedelta(microseconds=1)
DONG = {"organisation": "JEJU-ARA", "kind": OrganisationKind.LOCAL_GOVERNMENT}
MENTAL = "case.sensitive.mental_health"


def test_an_active_consent_permits_what_it_names() -> None:
    c = consent(data_categories=("case.record", "case.needs"))
    got = run(request("case.needs", "case.record"), (c,))
    assert got.permitted
    assert got.basis == f"consent:{c.id}"
    assert got.released == ("case.needs", "case.record")
    assert got.refused == ()
    assert got.code is None
    assert c.id in got.reasons[0]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"withdrawn_at": NOW}, DenialCode.CONSENT_WITHDRAWN),
        ({"withdrawn_at": NOW - DAY}, DenialCode.CONSENT_WITHDRAWN),
        ({"withdrawn_at": NOW + TICK}, None),
        ({"valid_until": NOW}, DenialCode.CONSENT_EXPIRED),
        ({"valid_until": NOW - DAY}, DenialCode.CONSENT_EXPIRED),
        ({"valid_until": NOW + TICK}, None),
        ({"valid_from": NOW + TICK}, DenialCode.CONSENT_NOT_YET_VALID),
        ({"valid_from": NOW}, None),
        ({"valid_until": NOW - DAY, "withdrawn_at": NOW - 2 * DAY}, DenialCode.CONSENT_WITHDRAWN),
    ],
    ids=[
        "withdrawn-at-now",
        "withdrawn-before",
        "withdrawn-later",
        "valid-until-now-is-expired",
        "expired-before",
        "expires-just-after",
        "not-yet-valid",
        "valid-from-now",
        "withdrawn-and-expired",
    ],
)
def test_the_consent_state_at_now_decides(changes: dict[str, datetime], code: str | None) -> None:
    c = consent(**changes)
    got = run(request("case.record"), (c,))
    assert got.code == code
    assert got.permitted is (code is None)
    if code is not None:
        assert got.released == ()
        assert got.refused == ("case.record",)
        assert got.reasons[0].startswith(f"consent:{c.id} ")
        if code is DenialCode.CONSENT_WITHDRAWN:
            assert c.withdrawn_at is not None
            assert c.withdrawn_at.isoformat() in got.reasons[0]


def test_withdrawal_cuts_access_from_that_instant() -> None:
    c = consent(withdrawn_at=NOW)
    assert run(request(), (c,), now=NOW - TICK).permitted
    assert not run(request(), (c,), now=NOW).permitted


def test_a_recipient_not_named_is_refused() -> None:
    c = consent(recipients=("JEJU-ARA",))
    got = run(request("case.record"), (c,))
    assert got.code is DenialCode.RECIPIENT_NOT_NAMED
    assert got.refused == ("case.record",)
    assert "WC-ARA" in got.reasons[0]


def test_a_purpose_not_consented_is_refused() -> None:
    c = consent(purposes=("missed_service.discovery",))
    got = run(request("case.record"), (c,))
    assert got.code is DenialCode.PURPOSE_NOT_CONSENTED
    assert got.refused == ("case.record",)
    assert "case.management" in got.reasons[0]


def test_an_inactive_consent_for_other_recipients_or_purposes_is_no_basis() -> None:
    withdrawn = {"withdrawn_at": NOW - DAY}
    cs = (
        consent("a", recipients=("JEJU-ARA",), **withdrawn),
        consent("b", purposes=("missed_service.discovery",), **withdrawn),
    )
    assert run(request(), cs).code is DenialCode.NO_BASIS


def test_a_category_the_consent_does_not_name_refuses_the_whole_request() -> None:
    c = consent(data_categories=("case.record",))
    got = run(request("case.record", "case.needs"), (c,))
    assert not got.permitted
    assert got.code is DenialCode.CATEGORY_NOT_ALLOWED
    assert got.refused == ("case.needs",)
    assert got.released == ()
    assert f"consent:{c.id}" in got.reasons[0]


def test_a_sensitive_category_needs_a_consent_that_names_it() -> None:
    without = consent(data_categories=("case.record",))
    got = run(request("case.record", MENTAL), (without,))
    assert got.code is DenialCode.SENSITIVE_NEEDS_CONSENT
    assert got.refused == (MENTAL,)
    assert "PIPA §23" in got.reasons[0]

    named = consent(data_categories=("case.record", MENTAL))
    got = run(request("case.record", MENTAL), (named,))
    assert got.permitted
    assert got.basis == f"consent:{named.id}"
    assert got.released == ("case.record", MENTAL)
    assert any("PIPA §23" in reason for reason in got.reasons)


def test_a_statute_is_preferred_to_a_consent_that_also_covers() -> None:
    c = consent(recipients=("JEJU-ARA",), data_categories=("benefit.enrolment", "case.record"))
    got = run(request("benefit.enrolment", **DONG), (c,))
    assert got.basis == "statute:ssba-case-management"
    assert any(f"consent:{c.id} also covers" in reason for reason in got.reasons)
    # Where the statute stops (case records), the consent carries the request.
    got = run(request("benefit.enrolment", "case.record", **DONG), (c,))
    assert got.basis == f"consent:{c.id}"


def test_several_consents_the_lowest_active_covering_id_wins_whatever_the_order() -> None:
    cs = [
        consent("c"),
        consent("b", withdrawn_at=NOW - DAY),
        consent("d"),
        consent("a", data_categories=("case.needs",)),
    ]
    expected = f"consent:{cs[0].id}"
    for order in (cs, cs[::-1], cs[1:] + cs[:1]):
        assert run(request("case.record"), tuple(order)).basis == expected


def test_a_withdrawn_consent_is_named_even_when_a_statute_covers_part() -> None:
    """The 동 team gets enrolments by statute; the case record needed the withdrawn consent."""
    c = consent(
        recipients=("JEJU-ARA",),
        data_categories=("benefit.enrolment", "case.record"),
        withdrawn_at=NOW - DAY,
    )
    got = run(request("benefit.enrolment", "case.record", **DONG), (c,))
    assert got.code is DenialCode.CONSENT_WITHDRAWN
    assert got.refused == ("case.record",)
    assert got.released == ()


def test_categories_split_over_a_statute_and_a_consent_are_refused_as_no_single_basis() -> None:
    c = consent(recipients=("JEJU-ARA",), data_categories=("case.record",))
    got = run(request("benefit.enrolment", "case.record", **DONG), (c,))
    assert got.code is DenialCode.NO_SINGLE_BASIS
    assert got.refused == ()
    assert "statute:ssba-case-management covers benefit.enrolment" in got.reasons[0]
    assert f"consent:{c.id} covers case.record" in got.reasons[0]


def test_an_unusable_basis_is_mentioned_besides_the_main_reason() -> None:
    c = consent(data_categories=("case.needs",), withdrawn_at=NOW - DAY)
    active = consent("b", data_categories=("case.record",))
    got = run(request("case.record", "case.needs"), (c, active))
    assert got.code is DenialCode.CATEGORY_NOT_ALLOWED
    assert got.refused == ("case.needs",)
    assert any(f"consent:{c.id} was withdrawn" in reason for reason in got.reasons[1:])


def test_reasons_carry_no_personal_data() -> None:
    c = consent(withdrawn_at=NOW - DAY, withdrawal_reason="본인 요청 010-1234-5678 홍길동")
    got = run(request(), (c,))
    text = "\n".join(got.reasons)
    assert "010-1234-5678" not in text
    assert "홍길동" not in text


def test_a_request_is_validated() -> None:
    with pytest.raises(ValidationError, match="twice"):
        request("case.record", "case.record")
    with pytest.raises(ValidationError):
        Request(
            organisation="WC-ARA",
            organisation_kind=OrganisationKind.WELFARE_CENTRE,
            purpose="case.management",
            data_categories=(),
        )
    assert request().own_programme is False  # deny by default


def test_a_decision_cannot_both_refuse_and_release() -> None:
    with pytest.raises(ValidationError):
        Decision(
            permitted=False, code=DenialCode.NO_BASIS, released=("case.record",), reasons=("x",)
        )
    with pytest.raises(ValidationError):
        Decision(permitted=True, released=("case.record",), reasons=("x",))
    with pytest.raises(ValidationError):
        Decision(permitted=True, basis="statute:x", released=(), reasons=("x",))


def test_now_must_be_aware_and_inputs_unique() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(request(), (), (), NOW.replace(tzinfo=None), sensitive_categories=())
    with pytest.raises(ValueError, match="twice"):
        run(request(), (consent(), consent()))
