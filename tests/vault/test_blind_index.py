"""Keyed blind index of RRNs."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hub.vault import KeyPurpose, KeySet, KeySetError, blind_index, candidates
from schemas.identifiers import ResidentRegistrationNumber, parse_rrn

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)


@st.composite
def rrns(draw: st.DrawFn) -> ResidentRegistrationNumber:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)))
    g = draw(st.sampled_from("1256"))
    rest = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    return parse_rrn(f"{born:%y%m%d}-{g}{rest}", today=TODAY)


def test_digest_is_the_documented_hmac(keyset: KeySet) -> None:
    rrn = parse_rrn("900101-1234567", today=TODAY)
    key = keyset.primary(KeyPurpose.BLIND_INDEX)
    expected = hmac.new(
        key.secret_bytes(), b"hub.v1.blind-index|9001011234567", hashlib.sha256
    ).digest()
    index = blind_index(keyset, rrn)
    assert (index.kid, index.digest) == (key.kid, expected)
    assert expected.hex() not in repr(index)
    assert "9001011234567" not in repr(index)


@given(rrn=rrns())
def test_stable_for_the_same_key(keyset: KeySet, rrn: ResidentRegistrationNumber) -> None:
    first = blind_index(keyset, rrn)
    again = blind_index(keyset, parse_rrn(rrn.canonical(), today=TODAY))
    assert first == again
    assert len(first.digest) == 32


@given(rrn=rrns())
def test_different_across_keys(
    keyset: KeySet, other_keyset: KeySet, rrn: ResidentRegistrationNumber
) -> None:
    assert blind_index(keyset, rrn).digest != blind_index(other_keyset, rrn).digest


@given(a=rrns(), b=rrns())
def test_different_numbers_give_different_digests(
    keyset: KeySet, a: ResidentRegistrationNumber, b: ResidentRegistrationNumber
) -> None:
    assume(a != b)
    assert blind_index(keyset, a).digest != blind_index(keyset, b).digest


def test_candidates_cover_every_usable_key_during_reindex(keyset: KeySet) -> None:
    rrn = parse_rrn("010315-3123456", today=TODAY)
    assert candidates(keyset, rrn) == (blind_index(keyset, rrn),)
    old_kid = keyset.primary(KeyPurpose.BLIND_INDEX).kid
    rotated = keyset.rotate(KeyPurpose.BLIND_INDEX, NOW, force=True)
    new, old = candidates(rotated, rrn)
    assert new == blind_index(rotated, rrn)
    assert new.kid == rotated.primary(KeyPurpose.BLIND_INDEX).kid
    assert old == blind_index(keyset, rrn)  # what rows indexed before the rotation carry
    assert old.kid == old_kid

    retired = rotated.retire(old_kid)
    assert candidates(retired, rrn) == (new,)
    with pytest.raises(KeySetError, match="retired"):
        blind_index(retired, rrn, old_kid)


def test_refuses_a_key_of_another_purpose(keyset: KeySet) -> None:
    rrn = parse_rrn("010315-3123456", today=TODAY)
    with pytest.raises(KeySetError):
        blind_index(keyset, rrn, keyset.primary(KeyPurpose.PSEUDONYM).kid)
