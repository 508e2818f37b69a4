"""C2SP tlog-checkpoint bodies in C2SP signed notes, signed and verified with Ed25519."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import checkpoint, merkle
from audit.checkpoint import Checkpoint, CheckpointError

NAME = "hub.example/disclosure-log"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ROOT = merkle.root([merkle.leaf_hash(b"entry")])
CP = Checkpoint(NAME, 1, ROOT)
DASH = "\u2014"


def signed(cp: Checkpoint = CP, name: str = NAME, key: Ed25519PrivateKey = KEY) -> str:
    return checkpoint.sign(checkpoint.format_body(cp), name, key)


def _body(size: str, root: str = base64.b64encode(ROOT).decode()) -> str:
    return f"{NAME}\n{size}\n{root}\n"


def test_the_body_is_origin_size_and_base64_root() -> None:
    body = checkpoint.format_body(Checkpoint("example.com/log", 20852163, ROOT, ("ext",)))
    assert body == f"example.com/log\n20852163\n{base64.b64encode(ROOT).decode()}\next\n"
    assert checkpoint.format_body(Checkpoint("o", 0, merkle.EMPTY_ROOT)) == (
        "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )


def test_the_note_is_body_blank_line_and_em_dash_signature_line() -> None:
    note = signed()
    body, _, signature_line = note.partition("\n\n")
    assert body + "\n" == checkpoint.format_body(CP)
    assert signature_line.startswith(f"{DASH} {NAME} ")
    assert signature_line.endswith("\n")
    assert signature_line.count("\n") == 1
    blob = base64.b64decode(signature_line.split(" ")[2])
    assert blob[:4] == checkpoint.key_id(NAME, KEY.public_key())
    KEY.public_key().verify(blob[4:], (body + "\n").encode())


@settings(max_examples=40, deadline=None)
@given(
    # Text as a note can carry it: no control characters, and no lone surrogates (not UTF-8).
    origin=st.text(
        st.characters(min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=["Cs"]),
        min_size=1,
    ),
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(min_codepoint=0x21, exclude_categories=["Cs"]), min_size=1),
        max_size=3,
    ),
)
def test_sign_then_verify_round_trips(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert checkpoint.parse_body(checkpoint.format_body(cp)) == cp
    assert checkpoint.verify(signed(cp), NAME, KEY.public_key()) == cp


def test_verify_accepts_bytes_and_checks_the_origin() -> None:
    assert checkpoint.verify(signed().encode(), NAME, KEY.public_key(), origin=NAME) == CP
    with pytest.raises(CheckpointError, match="not 'another/log'"):
        checkpoint.verify(signed(), NAME, KEY.public_key(), origin="another/log")


def test_signatures_from_other_keys_are_ignored() -> None:
    ours = signed()
    theirs = checkpoint.sign(checkpoint.format_body(CP), "witness.example", OTHER_KEY)
    both = theirs + ours.partition("\n\n")[2]
    assert checkpoint.verify(both, NAME, KEY.public_key()) == CP
    assert checkpoint.verify(both, "witness.example", OTHER_KEY.public_key()) == CP
    # Same name, other key: a different key ID, so it is not ours and is ignored.
    same_name = checkpoint.sign(checkpoint.format_body(CP), NAME, OTHER_KEY)
    with pytest.raises(CheckpointError, match="no signature by"):
        checkpoint.verify(same_name, NAME, KEY.public_key())
    mixed = same_name + ours.partition("\n\n")[2]
    assert checkpoint.verify(mixed, NAME, KEY.public_key()) == CP


def _replace_signature(note: str, blob: bytes) -> str:
    head, _, line = note.partition("\n\n")
    prefix = line.rsplit(" ", 1)[0]
    return f"{head}\n\n{prefix} {base64.b64encode(blob).decode()}\n"


def _signature_blob(note: str) -> bytes:
    return base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (signed().replace("\n1\n", "\n2\n", 1), "does not verify"),
        (signed().replace(NAME + "\n", "hub.example/other\n", 1), "does not verify"),
        (
            _replace_signature(signed(), bytes([*_signature_blob(signed())[:-1], 0])),
            "does not verify",
        ),
        (_replace_signature(signed(), _signature_blob(signed())[:40]), "does not verify"),
        (signed(key=OTHER_KEY), "no signature by"),
        (signed(name="hub.example/other-name"), "no signature by"),
        (signed()[:-1], "must end with a newline"),
        (signed().replace("\n\n", "\n", 1), "no blank line"),
        (checkpoint.format_body(CP) + "\n", "no signature lines"),
        (signed().replace(DASH, "-", 1), "em dash"),
        (signed().replace(f"{DASH} ", f"{DASH}", 1), "em dash"),
        (signed() + "not a signature\n", "em dash"),
        (signed().replace("=\n", "\n"), "base64"),
        (signed().replace("\n1\n", "\n1\r\n", 1), "control character"),
        (checkpoint.sign(_body("1").replace("\n", "\n\n", 1), NAME, KEY), "must not be empty"),
    ],
)
def test_bad_notes_are_refused(note: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        checkpoint.verify(note, NAME, KEY.public_key())


def test_a_note_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(CheckpointError, match="UTF-8"):
        checkpoint.verify(b"\xff" + signed().encode(), NAME, KEY.public_key())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_body("01"), "leading zeroes"),
        (_body("00"), "leading zeroes"),
        (_body("-1"), "decimal"),
        (_body("+1"), "decimal"),
        (_body(" 1"), "decimal"),
        (_body("1.0"), "decimal"),
        (_body("0x10"), "decimal"),
        (_body("\u0661"), "decimal"),  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit
        (_body(""), "must not be empty"),
        (_body(str(2**64)), "64 bits"),
        (_body("1", base64.b64encode(ROOT[:31]).decode()), "31 bytes"),
        (_body("1", base64.b64encode(ROOT).decode().rstrip("=")), "base64"),
        (_body("1", "=" + base64.b64encode(ROOT).decode()[1:]), "base64"),
        (_body("1", "!" * 44), "base64"),
        (_body("1")[:-1], "end with a newline"),
        (f"{NAME}\n1\n", "origin, a tree size and a root"),
        (f"\n1\n{base64.b64encode(ROOT).decode()}\n", "must not be empty"),
        (_body("1") + "\n", "must not be empty"),
    ],
)
def test_bad_bodies_are_refused(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        checkpoint.parse_body(text)
    with pytest.raises(CheckpointError):  # signed, or refused for signing, it stays refused
        checkpoint.verify(checkpoint.sign(text, NAME, KEY), NAME, KEY.public_key())


def test_a_non_canonical_root_encoding_is_refused() -> None:
    canonical = base64.b64encode(ROOT).decode()
    # The last character carries 4 unused bits; setting one keeps the bytes but not the text.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = canonical[-2]
    altered = canonical[:-2] + alphabet[alphabet.index(last) ^ 1] + "="
    assert base64.b64decode(altered) == ROOT
    with pytest.raises(CheckpointError, match="canonical"):
        checkpoint.parse_body(_body("1", altered))


@pytest.mark.parametrize(
    ("cp", "message"),
    [
        (Checkpoint("", 1, ROOT), "origin must not be empty"),
        (Checkpoint("a\nb", 1, ROOT), "single line"),
        (Checkpoint(NAME, -1, ROOT), "out of range"),
        (Checkpoint(NAME, 1, ROOT[:31]), "31 bytes"),
        (Checkpoint(NAME, 1, ROOT, ("",)), "extension line must not be empty"),
    ],
)
def test_bad_checkpoints_are_not_formatted(cp: Checkpoint, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        checkpoint.format_body(cp)


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        ("no newline", NAME, "end with a newline"),
        ("tab\there\n", NAME, "control character"),
        ("text\n", "", "key name must not be empty"),
        ("text\n", "with space", "spaces or '\\+'"),
        ("text\n", "with+plus", "spaces or '\\+'"),
        ("text\n", "nbsp\u00a0name", "spaces"),
    ],
)
def test_sign_refuses_bad_text_and_key_names(body: str, name: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        checkpoint.sign(body, name, KEY)


# --- Key IDs and verifier keys


def test_key_id_follows_the_signed_note_formula() -> None:
    public = KEY.public_key().public_bytes_raw()
    expected = hashlib.sha256(NAME.encode() + b"\x0a" + b"\x01" + public).digest()[:4]
    assert checkpoint.key_id(NAME, KEY.public_key()) == expected
    assert checkpoint.key_id(NAME, OTHER_KEY.public_key()) != expected
    assert checkpoint.key_id("other", KEY.public_key()) != expected


def test_verifier_key_round_trips() -> None:
    vkey = checkpoint.verifier_key(NAME, KEY.public_key())
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    assert name == NAME
    assert key_id_hex == checkpoint.key_id(NAME, KEY.public_key()).hex()
    assert base64.b64decode(key_b64) == b"\x01" + KEY.public_key().public_bytes_raw()
    parsed_name, parsed_key = checkpoint.parse_verifier_key(vkey)
    assert parsed_name == NAME
    assert parsed_key.public_bytes_raw() == KEY.public_key().public_bytes_raw()


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        (f"{NAME}+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(), "does not match"),
        (f"{NAME}+0000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(), "8 lowercase"),
        (f"{NAME}+00000000+" + base64.b64encode(b"\x02" + bytes(32)).decode(), "not an Ed25519"),
        (f"{NAME}+00000000+" + base64.b64encode(b"\x01" + bytes(31)).decode(), "not an Ed25519"),
        (f"{NAME}+00000000", "<name>\\+<key ID>\\+<key>"),
        ("+00000000+AA==", "key name must not be empty"),
    ],
)
def test_bad_verifier_keys_are_refused(vkey: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        checkpoint.parse_verifier_key(vkey)


# --- Known answer: the example key and note of the signed-note reference implementation
# (golang.org/x/mod/sumdb/note, the format C2SP signed-note specifies). The C2SP spec itself
# publishes example notes but not their keys.

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    f"{DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_known_answer_from_the_reference_implementation() -> None:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert seed[:1] == b"\x01"
    private = Ed25519PrivateKey.from_private_bytes(seed[1:])
    assert checkpoint.verifier_key("PeterNeumann", private.public_key()) == GO_VKEY
    name, public = checkpoint.parse_verifier_key(GO_VKEY)
    assert checkpoint.sign(GO_TEXT, name, private) == GO_TEXT + "\n" + GO_SIGNATURE
    assert checkpoint.open_note(GO_TEXT + "\n" + GO_SIGNATURE, name, public) == GO_TEXT
    with pytest.raises(CheckpointError, match="origin"):  # a note, but not a checkpoint
        checkpoint.verify(GO_TEXT + "\n" + GO_SIGNATURE, name, public)
