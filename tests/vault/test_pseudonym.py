"""Per-organisation subject_refs and the audit log's pseudonym space."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hub.vault import KeyPurpose, KeySet, log_subject_ref, subject_ref

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SUBJECT_REF = re.compile(r"^sr_[a-z2-7]{32}$")
LOG_REF = re.compile(r"^lsr_[a-z2-7]{32}$")

organisations = st.one_of(
    st.sampled_from(["MOHW", "MOEL", "KFS", "MOLIT", "jeju-arado-welfare-centre", "audit-log"]),
    st.text(min_size=1, max_size=40),
)


@given(person=st.uuids(), organisation=organisations)
def test_stable_per_person_and_organisation(
    keyset: KeySet, person: uuid.UUID, organisation: str
) -> None:
    ref = subject_ref(keyset, person, organisation)
    assert SUBJECT_REF.match(ref)
    assert subject_ref(keyset, uuid.UUID(str(person)), organisation) == ref
    assert str(person.hex) not in ref


@given(person=st.uuids(), a=organisations, b=organisations)
def test_different_across_organisations(keyset: KeySet, person: uuid.UUID, a: str, b: str) -> None:
    assume(a != b)
    assert subject_ref(keyset, person, a) != subject_ref(keyset, person, b)


@given(a=st.uuids(), b=st.uuids(), organisation=organisations)
def test_different_across_people(
    keyset: KeySet, a: uuid.UUID, b: uuid.UUID, organisation: str
) -> None:
    assume(a != b)
    assert subject_ref(keyset, a, organisation) != subject_ref(keyset, b, organisation)


@given(person=st.uuids(), organisation=organisations)
def test_different_across_keys(
    keyset: KeySet, other_keyset: KeySet, person: uuid.UUID, organisation: str
) -> None:
    assert subject_ref(keyset, person, organisation) != subject_ref(
        other_keyset, person, organisation
    )


@given(person=st.uuids(), organisation=organisations)
def test_log_space_is_separate(keyset: KeySet, person: uuid.UUID, organisation: str) -> None:
    log_ref = log_subject_ref(keyset, person)
    assert LOG_REF.match(log_ref)
    assert log_ref == log_subject_ref(keyset, person)
    assert log_ref.removeprefix("lsr_") != subject_ref(keyset, person, organisation).removeprefix(
        "sr_"
    )


def test_older_pseudonym_key_can_still_be_named(keyset: KeySet) -> None:
    person = uuid.uuid4()
    before = subject_ref(keyset, person, "MOHW")
    rotated = keyset.rotate(KeyPurpose.PSEUDONYM, NOW, force=True)
    assert subject_ref(rotated, person, "MOHW") != before
    old_kid = keyset.primary(KeyPurpose.PSEUDONYM).kid
    assert subject_ref(rotated, person, "MOHW", kid=old_kid) == before


def test_empty_organisation_is_refused(keyset: KeySet) -> None:
    with pytest.raises(ValueError, match="organisation"):
        subject_ref(keyset, uuid.uuid4(), "")
