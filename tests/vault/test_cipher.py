"""AES-256-GCM sealing bound to table, column, row id and key id."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hub.vault import DecryptionError, Key, KeyPurpose, KeySet, Sealed, decrypt, encrypt
from hub.vault.cipher import associated_data

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


names = st.text(min_size=1, max_size=30).filter(lambda s: "|" not in s)
row_ids = st.one_of(st.uuids(), st.integers(min_value=0, max_value=2**63), names)


def test_aad_layout_is_documented_byte_string() -> None:
    row = uuid.UUID("0b9c1a52-1111-4a4a-8b8b-123456789abc")
    aad = associated_data(table="person", column="rrn", row_id=row, kid="rrn-enc-20261122-3f9a")
    assert aad == (b"hub.v1|person|rrn|0b9c1a52-1111-4a4a-8b8b-123456789abc|rrn-enc-20261122-3f9a")
    assert associated_data(table="t", column="c", row_id=42, kid="k") == b"hub.v1|t|c|42|k"


@pytest.mark.parametrize("field", ["table", "column", "row_id"])
@pytest.mark.parametrize("bad", ["a|b", ""])
def test_aad_parts_must_be_unambiguous(keyset: KeySet, field: str, bad: str) -> None:
    where = {"table": "person", "column": "rrn", "row_id": "1", field: bad}
    with pytest.raises(ValueError, match=field):
        encrypt(keyset, b"x", **where)


def test_blob_layout(keyset: KeySet) -> None:
    sealed = encrypt(keyset, b"9001011234567", table="person", column="rrn", row_id=1)
    assert sealed.kid == keyset.primary(KeyPurpose.RRN_ENCRYPTION).kid
    assert len(sealed.blob) == 12 + 13 + 16
    again = encrypt(keyset, b"9001011234567", table="person", column="rrn", row_id=1)
    assert again.blob[:12] != sealed.blob[:12]  # fresh random nonce
    assert "9001011234567" not in repr(sealed)


@given(plaintext=st.binary(max_size=256), table=names, column=names, row_id=row_ids)
def test_decrypt_inverts_encrypt(
    keyset: KeySet, plaintext: bytes, table: str, column: str, row_id: str | int | uuid.UUID
) -> None:
    sealed = encrypt(keyset, plaintext, table=table, column=column, row_id=row_id)
    assert decrypt(keyset, sealed, table=table, column=column, row_id=row_id) == plaintext


@given(plaintext=st.binary(max_size=64), row_id=row_ids, other_row=row_ids)
def test_another_row_cannot_open_it(
    keyset: KeySet,
    plaintext: bytes,
    row_id: str | int | uuid.UUID,
    other_row: str | int | uuid.UUID,
) -> None:
    assume(str(row_id) != str(other_row))
    sealed = encrypt(keyset, plaintext, table="person", column="rrn", row_id=row_id)
    with pytest.raises(DecryptionError):
        decrypt(keyset, sealed, table="person", column="rrn", row_id=other_row)


@given(plaintext=st.binary(max_size=64), table=names, column=names)
def test_another_table_or_column_cannot_open_it(
    keyset: KeySet, plaintext: bytes, table: str, column: str
) -> None:
    sealed = encrypt(keyset, plaintext, table="person", column="rrn", row_id=7)
    if table != "person":
        with pytest.raises(DecryptionError):
            decrypt(keyset, sealed, table=table, column="rrn", row_id=7)
    if column != "rrn":
        with pytest.raises(DecryptionError):
            decrypt(keyset, sealed, table="person", column=column, row_id=7)


@given(plaintext=st.binary(max_size=64))
def test_another_key_set_cannot_open_it(
    keyset: KeySet, other_keyset: KeySet, plaintext: bytes
) -> None:
    sealed = encrypt(keyset, plaintext, table="person", column="rrn", row_id=7)
    with pytest.raises(DecryptionError, match="not in the key set"):
        decrypt(other_keyset, sealed, table="person", column="rrn", row_id=7)


def with_replaced_material(keyset: KeySet, kid: str, material: bytes) -> KeySet:
    def swap(key: Key) -> Key:
        if key.kid != kid:
            return key
        return Key(key.kid, key.purpose, key.status, key.created_at, material)

    return KeySet(swap(k) for k in keyset)


@given(plaintext=st.binary(max_size=64))
def test_same_kid_with_other_material_fails_authentication(
    keyset: KeySet, other_keyset: KeySet, plaintext: bytes
) -> None:
    kid = keyset.primary(KeyPurpose.RRN_ENCRYPTION).kid
    impostor = with_replaced_material(
        keyset, kid, other_keyset.primary(KeyPurpose.RRN_ENCRYPTION).secret_bytes()
    )
    sealed = encrypt(keyset, plaintext, table="person", column="rrn", row_id=7)
    with pytest.raises(DecryptionError) as caught:
        decrypt(impostor, sealed, table="person", column="rrn", row_id=7)
    assert str(caught.value) == "the sealed value could not be authenticated"


def test_swapping_the_kid_fails(keyset: KeySet) -> None:
    rotated = keyset.rotate(KeyPurpose.RRN_ENCRYPTION, NOW)
    sealed = encrypt(rotated, b"x", table="person", column="rrn", row_id=7)
    old_kid = keyset.primary(KeyPurpose.RRN_ENCRYPTION).kid
    with pytest.raises(DecryptionError):
        decrypt(rotated, replace(sealed, kid=old_kid), table="person", column="rrn", row_id=7)


def test_key_of_another_purpose_is_refused(keyset: KeySet) -> None:
    sealed = encrypt(keyset, b"x", table="person", column="rrn", row_id=7)
    wrong = replace(sealed, kid=keyset.primary(KeyPurpose.BLIND_INDEX).kid)
    with pytest.raises(DecryptionError, match="not rrn-encryption"):
        decrypt(keyset, wrong, table="person", column="rrn", row_id=7)


@given(position=st.integers(min_value=0, max_value=12 + 5 + 16 - 1), bit=st.integers(0, 7))
def test_any_flipped_bit_is_detected(keyset: KeySet, position: int, bit: int) -> None:
    sealed = encrypt(keyset, b"hello", table="person", column="rrn", row_id=7)
    blob = bytearray(sealed.blob)
    blob[position] ^= 1 << bit
    with pytest.raises(DecryptionError):
        decrypt(keyset, Sealed(sealed.kid, bytes(blob)), table="person", column="rrn", row_id=7)


@pytest.mark.parametrize("length", [0, 1, 12, 27])
def test_truncated_blob_is_refused(keyset: KeySet, length: int) -> None:
    sealed = encrypt(keyset, b"", table="person", column="rrn", row_id=7)
    with pytest.raises(DecryptionError):
        decrypt(
            keyset, Sealed(sealed.kid, sealed.blob[:length]), table="person", column="rrn", row_id=7
        )
