"""Pseudonyms for people: per-organisation `subject_ref`s and the audit log's own space.

Responses identify a person only by a `subject_ref`, a stable per-organisation pseudonym, so
two ministries cannot join their answers on it (DESIGN.md; the data-minimisation principle of
개인정보 보호법 제3조 and pseudonymisation in the sense of 제2조 1의2). It is a keyed
HMAC-SHA256 (RFC 2104) of the hub's internal person id and the organisation id:

    HMAC(pseudonym key, b"hub.v1.subject-ref|" + person_id.bytes + b"|" + organisation UTF-8)

The 16-byte UUID has a fixed length, so the message is unambiguous. Without the key it cannot be
inverted or linked across organisations; with the key the hub recomputes it, so nothing needs
storing. The disclosure log uses a distinct label, so its pseudonyms match no organisation's.

Output: a prefix and the first 20 bytes (160 bits, collision-safe for any population) in
lowercase RFC 4648 base32 without padding — case-insensitive and safe in URLs and CSV.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from typing import Final

from hub.vault.key import KeyPurpose
from hub.vault.keyset import KeySet

__all__ = ["LOG_SUBJECT_REF_PREFIX", "SUBJECT_REF_PREFIX", "log_subject_ref", "subject_ref"]

SUBJECT_REF_PREFIX: Final = "sr_"
LOG_SUBJECT_REF_PREFIX: Final = "lsr_"
_SUBJECT_LABEL: Final = b"hub.v1.subject-ref|"
_LOG_LABEL: Final = b"hub.v1.log-subject-ref|"
_KEPT_BYTES: Final = 20


def _render(prefix: str, digest: bytes) -> str:
    return prefix + base64.b32encode(digest[:_KEPT_BYTES]).decode("ascii").lower()


def _mac(keyset: KeySet, message: bytes, kid: str | None) -> bytes:
    key = keyset.resolve(KeyPurpose.PSEUDONYM, kid)
    return hmac.digest(key.secret_bytes(), message, "sha256")  # one-shot, in C


def subject_ref(
    keyset: KeySet, person_id: uuid.UUID, organisation: str, *, kid: str | None = None
) -> str:
    """The pseudonym of `person_id` as seen by `organisation` (its exact organisation id),
    e.g. ``sr_`` + 32 base32 characters; under the primary pseudonym key unless `kid` is given."""
    if not organisation:
        raise ValueError("organisation must not be empty")
    message = _SUBJECT_LABEL + person_id.bytes + b"|" + organisation.encode("utf-8")
    return _render(SUBJECT_REF_PREFIX, _mac(keyset, message, kid))


def log_subject_ref(keyset: KeySet, person_id: uuid.UUID, *, kid: str | None = None) -> str:
    """The pseudonym of `person_id` in the disclosure log (``lsr_`` + 32 base32 characters)."""
    return _render(LOG_SUBJECT_REF_PREFIX, _mac(keyset, _LOG_LABEL + person_id.bytes, kid))
