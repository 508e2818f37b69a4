"""Validation rules of the canonical record models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.attribute import Attribute, AttributeFact
from schemas.duplicate_rule import DuplicateRule
from schemas.enrolment import EnrolmentRecord, EnrolmentStatus
from schemas.event import StatusEventRecord, StatusEventType
from schemas.organisation import Organisation
from schemas.person import CivilStatus, PersonRecord
from schemas.programme import AnyOfRequirement, Programme, Requirement

KST = timezone(timedelta(hours=9))


def _enrolment(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "source": "MOHW",
        "source_record_id": "ENR-0001",
        "programme": "MOHW-BLS-EDUCATION",
        "period_start": date(2024, 3, 1),
        "period_end": date(2025, 2, 28),
        "status": "active",
        "amount_won": 450_000,
    }
    return fields | changes


def test_enrolment_accepts_a_well_formed_record() -> None:
    record = EnrolmentRecord.model_validate(_enrolment())
    assert record.status is EnrolmentStatus.ACTIVE
    assert record.covers(date(2024, 12, 31))
    assert not record.covers(date(2025, 3, 1))


def test_enrolment_end_before_start_is_rejected() -> None:
    with pytest.raises(ValidationError, match="period_end is before period_start"):
        EnrolmentRecord.model_validate(_enrolment(period_end=date(2024, 2, 29)))


def test_enrolment_negative_amount_is_rejected() -> None:
    with pytest.raises(ValidationError, match="amount_won"):
        EnrolmentRecord.model_validate(_enrolment(amount_won=-1))


def test_ended_enrolment_needs_an_end_date() -> None:
    with pytest.raises(ValidationError, match="ended enrolment needs period_end"):
        EnrolmentRecord.model_validate(_enrolment(status="ended", period_end=None))


def test_models_forbid_unknown_fields_and_are_frozen() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        EnrolmentRecord.model_validate(_enrolment(colour="red"))
    record = EnrolmentRecord.model_validate(_enrolment())
    with pytest.raises(ValidationError, match="frozen"):
        record.amount_won = 1


def _fact(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "attribute": "disability.severity",
        "value": "severe",
        "valid_from": date(2021, 3, 2),
        "source": "MOHW",
        "source_record_id": "DIS-77",
        "as_of": datetime(2024, 5, 1, 9, 0, tzinfo=KST),
    }
    return fields | changes


def test_datetimes_must_be_aware_and_become_utc() -> None:
    fact = AttributeFact.model_validate(_fact())
    assert fact.as_of == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    assert fact.as_of.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError, match="timezone"):
        AttributeFact.model_validate(_fact(as_of=datetime(2024, 5, 1, 9, 0)))  # noqa: DTZ001


def test_fact_values_keep_their_type() -> None:
    assert AttributeFact.model_validate(_fact(value=True)).value is True
    assert AttributeFact.model_validate(_fact(value=45)).value == 45
    with pytest.raises(ValidationError, match="valid_to is before valid_from"):
        AttributeFact.model_validate(_fact(valid_to=date(2020, 1, 1)))


def test_attribute_accepts_only_well_typed_values() -> None:
    band = Attribute.model_validate(
        {
            "code": "income.band",
            "name_ko": "소득",
            "name_en": "Income",
            "value_type": "band",
            "data_category": "income.band",
            "source_ministry": "MOHW",
            "answer": "income_data",
        }
    )
    assert band.accepts(45)
    assert not band.accepts(True)
    assert not band.accepts("45")
    with pytest.raises(ValidationError, match="an enum attribute needs values"):
        Attribute.model_validate(band.model_dump() | {"value_type": "enum"})


def _event(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "person.address_changed",
        "effective_date": date(2024, 6, 3),
        "source": "MOIS-RRS",
        "source_event_id": "EV-1",
        "reported_at": datetime(2024, 6, 3, 1, 2, tzinfo=UTC),
        "details": {"new_region_code": "11350"},
    }
    return fields | changes


def test_status_event_rules() -> None:
    event = StatusEventRecord.model_validate(_event())
    assert event.type is StatusEventType.PERSON_ADDRESS_CHANGED
    with pytest.raises(ValidationError, match=r"needs details\.new_region_code"):
        StatusEventRecord.model_validate(_event(details={}))
    with pytest.raises(ValidationError, match="timezone"):
        StatusEventRecord.model_validate(_event(reported_at=datetime(2024, 6, 3)))  # noqa: DTZ001
    died = StatusEventRecord.model_validate(_event(type="person.died", details={}))
    assert died.type.value == "person.died"


def _person(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "source": "MOIS-RRS",
        "source_record_id": "P-1",
        "rrn": "900101-1234568",
        "name": "홍길동",
        "birth_date": date(1990, 1, 1),
        "sex": "male",
        "region_code": "5011011700",
    }
    return fields | changes


def test_person_record_hides_personal_data_from_repr() -> None:
    person = PersonRecord.model_validate(_person())
    shown = repr(person)
    assert "900101" not in shown
    assert "홍길동" not in shown
    assert person.rrn.get_secret_value() == "900101-1234568"
    assert person.civil_status is CivilStatus.ALIVE


def test_person_civil_status_needs_a_date() -> None:
    with pytest.raises(ValidationError, match="deceased needs civil_status_date"):
        PersonRecord.model_validate(_person(civil_status="deceased"))
    with pytest.raises(ValidationError, match="region_code"):
        PersonRecord.model_validate(_person(region_code="1135"))


def test_requirements_are_a_discriminated_union() -> None:
    adapter: TypeAdapter[Requirement] = TypeAdapter(Requirement)
    nested = adapter.validate_python(
        {
            "kind": "any_of",
            "requirements": [
                {"kind": "attribute", "attribute": "near_poverty", "equals": True},
                {"kind": "household_member_age", "max": 12},
            ],
        }
    )
    assert isinstance(nested, AnyOfRequirement)
    assert nested.attribute_codes() == {"near_poverty"}
    with pytest.raises(ValidationError, match="min is greater than max"):
        adapter.validate_python({"kind": "age", "min": 65, "max": 18})
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        adapter.validate_python({"kind": "income_below", "band": 30})


def test_private_support_and_public_programmes_are_kept_apart() -> None:
    fields: dict[str, Any] = {
        "code": "PRIV-MEALS",
        "operator_kind": "welfare_centre",
        "name_ko": "도시락",
        "name_en": "Meals",
        "category": "private-support",
        "content": "도시락 배달",
        "eligibility_text": "기관 기준",
        "requirements": [{"kind": "age", "min": 65}],
        "application": {"how": "상담", "where": "복지관"},
    }
    assert Programme.model_validate(fields).ministry is None
    with pytest.raises(ValidationError, match="private-support programmes have no ministry"):
        Programme.model_validate(fields | {"ministry": "MOHW"})
    with pytest.raises(ValidationError, match="a public programme needs a ministry"):
        Programme.model_validate(fields | {"category": "livelihood", "operator_kind": None})


def test_duplicate_rule_shape() -> None:
    rule: dict[str, Any] = {
        "id": "DUP-40",
        "name_ko": "test",
        "a": {"programme": "PRIV-FOOD"},
        "b": {"programme": "PRIV-FOOD"},
        "scope": "household",
        "overlap": {"kind": "within_days", "days": 30},
        "effective_from": date(2012, 8, 1),
        "legal_reference": "test",
        "source": "synthetic",
    }
    with pytest.raises(ValidationError, match="set distinct_sources"):
        DuplicateRule.model_validate(rule)
    assert DuplicateRule.model_validate(rule | {"distinct_sources": True}).distinct_sources
    with pytest.raises(ValidationError, match="exactly one of programme or category"):
        DuplicateRule.model_validate(
            rule | {"a": {"programme": "PRIV-FOOD", "category": "housing"}}
        )
    with pytest.raises(ValidationError, match="effective_until is before effective_from"):
        DuplicateRule.model_validate(
            rule | {"distinct_sources": True, "effective_until": date(2000, 1, 1)}
        )


def test_local_bodies_need_a_region() -> None:
    with pytest.raises(ValidationError, match="needs a region_code"):
        Organisation.model_validate(
            {"code": "JEJU-X", "kind": "local_government", "name_ko": "x", "name_en": "x"}
        )
