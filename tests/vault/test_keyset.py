"""The key-set file and the key life cycle: generate, save, load, rotate, retire, publish."""

from __future__ import annotations

import copy
import json
import re
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from hub.vault import (
    DecryptionError,
    KeyPurpose,
    KeySet,
    KeySetError,
    KeyStatus,
    UnknownKey,
    decrypt,
    encrypt,
    reencrypt,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
KID = re.compile(r"^(rrn-enc|blind-idx|pseudo|token-sig|log-sig)-\d{8}-[0-9a-f]{4}$")
WHERE = {"table": "person", "column": "rrn", "row_id": "0b9c1a52-1111-4a4a-8b8b-123456789abc"}


@pytest.fixture(scope="module")
def keyset() -> KeySet:
    return KeySet.generate(NOW)


@pytest.fixture(scope="module")
def document(keyset: KeySet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    keyset.save(path)
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def secrets_in(doc: dict[str, Any]) -> list[str]:
    """Every material value, plus fragments long enough to identify it."""
    found: list[str] = []
    for key in doc["keys"]:
        for value in key["material"].values():
            found.append(value)
            if "PRIVATE KEY" in value:
                body = "".join(value.splitlines()[1:-1])
                found.extend(body[i : i + 16] for i in range(0, len(body) - 16, 64))
            else:
                found.extend(value[i : i + 12] for i in range(0, len(value) - 12, 6))
    return found


def test_generate_makes_one_primary_key_per_purpose(keyset: KeySet) -> None:
    assert len(keyset) == len(KeyPurpose)
    for purpose in KeyPurpose:
        primary = keyset.primary(purpose)
        assert primary.purpose is purpose
        assert primary.status is KeyStatus.PRIMARY
        assert keyset.keys_for(purpose) == (primary,)
        assert KID.match(primary.kid)
        assert "20261122" in primary.kid
        assert primary.created_at == NOW


def test_generate_refuses_naive_time() -> None:
    with pytest.raises(KeySetError):
        KeySet.generate(datetime(2026, 11, 22, 10, 0))  # noqa: DTZ001


def test_save_load_round_trip(keyset: KeySet, tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "keys.json"
    keyset.save(path)
    loaded = KeySet.load(path)
    assert [k.kid for k in loaded] == [k.kid for k in keyset]
    assert list(loaded) == list(keyset)  # kid, purpose, status, created_at
    for purpose in (KeyPurpose.RRN_ENCRYPTION, KeyPurpose.BLIND_INDEX, KeyPurpose.PSEUDONYM):
        assert loaded.primary(purpose).secret_bytes() == keyset.primary(purpose).secret_bytes()
    private = serialization.PrivateFormat.PKCS8
    pem = serialization.Encoding.PEM
    none = serialization.NoEncryption()
    assert loaded.token_signing_private_key().private_key.private_bytes(
        pem, private, none
    ) == keyset.token_signing_private_key().private_key.private_bytes(pem, private, none)
    assert (
        loaded.log_signing_key().private_key.private_bytes_raw()
        == keyset.log_signing_key().private_key.private_bytes_raw()
    )
    sealed = encrypt(keyset, b"secret", **WHERE)
    assert decrypt(loaded, sealed, **WHERE) == b"secret"


def test_saved_file_is_private_and_written_atomically(keyset: KeySet, tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys.json"
    keyset.save(path)
    keyset.rotate(KeyPurpose.RRN_ENCRYPTION, LATER).save(path)  # overwrite
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["keys.json"]  # no temp files left


def test_file_format_version_1(document: dict[str, Any]) -> None:
    assert document["version"] == 1
    assert {k["purpose"] for k in document["keys"]} == {p.value for p in KeyPurpose}
    for key in document["keys"]:
        assert set(key) == {"kid", "purpose", "created_at", "status", "material"}
        assert key["created_at"] == "2026-11-22T10:00:00Z"
        assert key["status"] == "primary"
        member = {"token-signing": "private_pem", "log-signing": "seed"}.get(key["purpose"], "k")
        assert set(key["material"]) == {member}
        if member != "private_pem":
            assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key["material"][member])  # 32 bytes


def test_load_or_generate_creates_once(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = KeySet.load_or_generate(path, NOW)
    second = KeySet.load_or_generate(path, LATER)
    assert [k.kid for k in first] == [k.kid for k in second]


def test_rotate_keeps_old_ciphertext_readable(keyset: KeySet) -> None:
    old = encrypt(keyset, b"before rotation", **WHERE)
    rotated = keyset.rotate(KeyPurpose.RRN_ENCRYPTION, LATER)
    old_primary = keyset.primary(KeyPurpose.RRN_ENCRYPTION)
    new_primary = rotated.primary(KeyPurpose.RRN_ENCRYPTION)
    assert new_primary.kid != old_primary.kid
    assert KID.match(new_primary.kid)
    assert "20261222" in new_primary.kid
    assert rotated.get(old_primary.kid).status is KeyStatus.ACTIVE
    assert rotated.keys_for(KeyPurpose.RRN_ENCRYPTION) == (new_primary, rotated.get(old.kid))
    assert decrypt(rotated, old, **WHERE) == b"before rotation"
    new = encrypt(rotated, b"after rotation", **WHERE)
    assert new.kid == new_primary.kid
    assert decrypt(rotated, new, **WHERE) == b"after rotation"
    # the original key set object is unchanged
    assert keyset.primary(KeyPurpose.RRN_ENCRYPTION) == old_primary


@pytest.mark.parametrize("purpose", [KeyPurpose.PSEUDONYM, KeyPurpose.BLIND_INDEX])
def test_rotating_data_defining_keys_needs_force(keyset: KeySet, purpose: KeyPurpose) -> None:
    with pytest.raises(KeySetError, match="force"):
        keyset.rotate(purpose, LATER)
    rotated = keyset.rotate(purpose, LATER, force=True)
    assert rotated.primary(purpose).kid != keyset.primary(purpose).kid


def test_retire_and_reencrypt(keyset: KeySet) -> None:
    old = encrypt(keyset, b"payload", **WHERE)
    rotated = keyset.rotate(KeyPurpose.RRN_ENCRYPTION, LATER)
    with pytest.raises(KeySetError, match="rotate before retiring"):
        rotated.retire(rotated.primary(KeyPurpose.RRN_ENCRYPTION).kid)
    retired = rotated.retire(old.kid)
    assert retired.get(old.kid).status is KeyStatus.RETIRED
    assert retired.keys_for(KeyPurpose.RRN_ENCRYPTION) == (
        retired.primary(KeyPurpose.RRN_ENCRYPTION),
    )
    assert len(retired.keys_for(KeyPurpose.RRN_ENCRYPTION, include_retired=True)) == 2
    with pytest.raises(DecryptionError, match="retired"):
        decrypt(retired, old, **WHERE)
    moved = reencrypt(retired, old, **WHERE)
    assert moved.kid == retired.primary(KeyPurpose.RRN_ENCRYPTION).kid
    assert decrypt(retired, moved, **WHERE) == b"payload"
    assert reencrypt(retired, moved, **WHERE) is moved


def test_unknown_kid(keyset: KeySet) -> None:
    with pytest.raises(UnknownKey) as caught:
        keyset.get("nope-20260101-0000")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "no key with kid 'nope-20260101-0000' in the key set"


def test_resolve_checks_purpose(keyset: KeySet) -> None:
    kid = keyset.primary(KeyPurpose.BLIND_INDEX).kid
    with pytest.raises(KeySetError, match="blind-index key, not pseudonym"):
        keyset.resolve(KeyPurpose.PSEUDONYM, kid)
    with pytest.raises(KeySetError, match="not a symmetric key"):
        keyset.primary(KeyPurpose.TOKEN_SIGNING).secret_bytes()


def test_repr_never_shows_material(keyset: KeySet, document: dict[str, Any]) -> None:
    shown = [repr(keyset), str(keyset), *(repr(k) for k in keyset), *(str(k) for k in keyset)]
    for text in shown:
        for secret in secrets_in(document):
            assert secret not in text


def mutate(
    change: Callable[[dict[str, Any]], object],
) -> Callable[[dict[str, Any]], bytes]:
    def apply(doc: dict[str, Any]) -> bytes:
        doc = copy.deepcopy(doc)
        change(doc)
        return json.dumps(doc).encode()

    return apply


def key_of(doc: dict[str, Any], purpose: str) -> dict[str, Any]:
    found: dict[str, Any] = next(k for k in doc["keys"] if k["purpose"] == purpose)
    return found


BROKEN: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "bad json": lambda doc: json.dumps(doc).encode()[:-7],
    "not an object": lambda doc: json.dumps(doc["keys"]).encode(),
    "unknown top-level field": mutate(lambda d: d.update(comment="x")),
    "unknown key field": mutate(lambda d: d["keys"][0].update(note="x")),
    "unknown material member": mutate(lambda d: d["keys"][0]["material"].update(x="y")),
    "wrong version": mutate(lambda d: d.update(version=2)),
    "no keys": mutate(lambda d: d.update(keys=[])),
    "two primaries": mutate(
        lambda d: d["keys"].append({**key_of(d, "pseudonym"), "kid": "pseudo-20261122-ffff"})
    ),
    "missing purpose": mutate(lambda d: d["keys"].remove(key_of(d, "blind-index"))),
    "no primary": mutate(lambda d: key_of(d, "rrn-encryption").update(status="active")),
    "unknown status": mutate(lambda d: d["keys"][0].update(status="spare")),
    "unknown purpose": mutate(lambda d: d["keys"][0].update(purpose="signing")),
    "duplicate kid": mutate(
        lambda d: key_of(d, "pseudonym").update(kid=key_of(d, "blind-index")["kid"])
    ),
    "kid with separator": mutate(lambda d: d["keys"][0].update(kid="rrn|enc")),
    "naive created_at": mutate(lambda d: d["keys"][0].update(created_at="2026-11-22T10:00:00")),
    "short symmetric key": mutate(
        lambda d: key_of(d, "rrn-encryption")["material"].update(
            k=key_of(d, "rrn-encryption")["material"]["k"][:-8]
        )
    ),
    "not base64url": mutate(
        lambda d: key_of(d, "blind-index")["material"].update(
            k="+" + key_of(d, "blind-index")["material"]["k"][1:]
        )
    ),
    "material of another purpose": mutate(
        lambda d: key_of(d, "pseudonym").update(material=key_of(d, "token-signing")["material"])
    ),
    "garbage pem": mutate(
        lambda d: key_of(d, "token-signing")["material"].update(
            private_pem=key_of(d, "token-signing")["material"]["private_pem"][:200]
        )
    ),
    "ed25519 pem for rsa": mutate(
        lambda d: key_of(d, "token-signing")["material"].update(
            private_pem=key_of(d, "log-signing")["material"]["seed"]
        )
    ),
    "material not a string": mutate(
        lambda d: key_of(d, "log-signing")["material"].update(seed=12345)
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_are_refused_without_showing_material(
    case: str, document: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(BROKEN[case](document))
    with pytest.raises(KeySetError) as caught:
        KeySet.load(path)
    message = str(caught.value)
    assert str(path) in message
    for secret in secrets_in(document):
        assert secret not in message, case
    assert caught.value.__cause__ is None


def test_broken_file_message_names_the_problem(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(BROKEN["two primaries"](document))
    with pytest.raises(KeySetError, match="'pseudonym' has more than one primary key"):
        KeySet.load(path)
    path.write_bytes(BROKEN["missing purpose"](document))
    with pytest.raises(KeySetError, match="'blind-index' has no primary key"):
        KeySet.load(path)
    path.write_bytes(BROKEN["unknown key field"](document))
    with pytest.raises(KeySetError, match=r"keys\.0\.note: Extra inputs are not permitted"):
        KeySet.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeySetError, match="does not exist"):
        KeySet.load(tmp_path / "absent.json")


def test_public_jwks_has_only_public_members_and_verifies_tokens(keyset: KeySet) -> None:
    jwks = keyset.public_jwks()
    assert json.loads(json.dumps(jwks)) == jwks
    (entry,) = jwks["keys"]
    assert set(entry) == {"kty", "kid", "use", "alg", "n", "e"}
    assert entry["kid"] == keyset.primary(KeyPurpose.TOKEN_SIGNING).kid
    assert (entry["kty"], entry["use"], entry["alg"], entry["e"]) == ("RSA", "sig", "RS256", "AQAB")

    kid, private_key = keyset.token_signing_private_key()
    token = jwt.encode({"sub": "client-1"}, private_key, algorithm="RS256", headers={"kid": kid})
    assert jwt.get_unverified_header(token)["kid"] == entry["kid"]
    verified = jwt.decode(token, key=jwt.PyJWK(entry), algorithms=["RS256"])
    assert verified == {"sub": "client-1"}


def test_jwks_keeps_active_keys_and_drops_retired_ones(keyset: KeySet) -> None:
    old_kid, old_private = keyset.token_signing_private_key()
    old_token = jwt.encode({"n": 1}, old_private, algorithm="RS256", headers={"kid": old_kid})
    rotated = keyset.rotate(KeyPurpose.TOKEN_SIGNING, LATER)
    jwks = rotated.public_jwks()
    assert [e["kid"] for e in jwks["keys"]] == [
        rotated.primary(KeyPurpose.TOKEN_SIGNING).kid,
        old_kid,
    ]
    by_kid = {e["kid"]: e for e in jwks["keys"]}
    assert jwt.decode(old_token, key=jwt.PyJWK(by_kid[old_kid]), algorithms=["RS256"]) == {"n": 1}
    assert rotated.token_signing_private_key().kid != old_kid
    assert rotated.token_signing_private_key(old_kid).kid == old_kid

    retired = rotated.retire(old_kid)
    assert [e["kid"] for e in retired.public_jwks()["keys"]] == [
        rotated.primary(KeyPurpose.TOKEN_SIGNING).kid
    ]
    with pytest.raises(KeySetError, match="retired"):
        retired.token_signing_private_key(old_kid)


def test_log_signing_key_signs_and_verifies(keyset: KeySet) -> None:
    kid, private_key = keyset.log_signing_key()
    signature = private_key.sign(b"checkpoint")
    keyset.log_public_keys()[kid].verify(signature, b"checkpoint")
    rotated = keyset.rotate(KeyPurpose.LOG_SIGNING, LATER)
    assert rotated.log_signing_key().kid != kid
    retired = rotated.retire(kid)
    retired.log_public_keys()[kid].verify(signature, b"checkpoint")  # old checkpoints verify
    assert kid not in retired.log_public_keys(include_retired=False)
