"""Blind index of RRNs: find a person by RRN without decrypting every stored RRN.

RRNs are stored encrypted with random nonces (개인정보 보호법 제24조의2; hub.vault.cipher), so
equal numbers give unequal ciphertexts. The index is a keyed HMAC-SHA256 (RFC 2104, FIPS 198-1)
of the canonical 13 digits, domain-separated by the label ``b"hub.v1.blind-index|"``. Keyed,
because the RRN space is tiny: knowing a birth date and sex leaves about a million candidates,
which a plain hash would give up in a second. The key lives outside the database, so a database
dump alone does not let anyone confirm a guessed number.

During a re-index after a (forced) blind-index rotation, rows may carry either key's digest;
`candidates` gives one digest per usable key to look up with ``kid, digest IN (...)``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Final

from hub.vault.key import KeyPurpose
from hub.vault.keyset import KeySet
from schemas.identifiers import ResidentRegistrationNumber

__all__ = ["BlindIndex", "blind_index", "candidates"]

_LABEL: Final = b"hub.v1.blind-index|"
DIGEST_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class BlindIndex:
    """The index value of one RRN under one key: store `kid` and `digest` side by side."""

    kid: str
    digest: bytes

    def __repr__(self) -> str:
        # The digest is a confirmable fingerprint of the RRN; keep it out of logs.
        return f"BlindIndex(kid={self.kid!r}, digest=<{len(self.digest)} bytes>)"


def blind_index(
    keyset: KeySet, rrn: ResidentRegistrationNumber, kid: str | None = None
) -> BlindIndex:
    """HMAC-SHA256(blind-index key, label ‖ 13 digits) under the primary key, or under `kid`
    (which must be a non-retired blind-index key)."""
    key = keyset.resolve(KeyPurpose.BLIND_INDEX, kid)
    message = _LABEL + rrn.canonical().encode("ascii")
    return BlindIndex(key.kid, hmac.digest(key.secret_bytes(), message, "sha256"))


def candidates(keyset: KeySet, rrn: ResidentRegistrationNumber) -> tuple[BlindIndex, ...]:
    """One index value per non-retired blind-index key, primary first (lookups during re-index)."""
    return tuple(
        blind_index(keyset, rrn, key.kid) for key in keyset.keys_for(KeyPurpose.BLIND_INDEX)
    )
