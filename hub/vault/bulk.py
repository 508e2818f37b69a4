"""RRN sealing and blind-indexing in bulk, for ingestion.

The same cryptography as `blind_index` and `cipher` (a test holds them byte for byte), shaped
for hundreds of thousands of RRNs a file: the keys resolved once, the one-shot C HMAC, every
nonce from one read of the system's random source, and the AAD's fixed parts built once. An
`RrnSealer` holds only the secrets it needs (the usable blind-index keys and the primary
rrn-encryption key) as plain bytes, so the process that maps a large file (hub.ingest) can
receive one and do this work next to the mapping, off the process that writes.
"""

from __future__ import annotations

import hmac
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hub.vault.blind_index import _LABEL
from hub.vault.cipher import NONCE_BYTES, Sealed, _aead, associated_data
from hub.vault.key import KeyPurpose
from hub.vault.keyset import KeySet

__all__ = ["RrnSealer"]

_PROBE: Final = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True, repr=False)
class RrnSealer:
    """The key material for indexing and sealing RRNs stored in one table column."""

    index_keys: tuple[tuple[str, bytes], ...]
    """(kid, secret) of every non-retired blind-index key, primary first."""
    seal_kid: str
    seal_secret: bytes
    table: str
    column: str

    @classmethod
    def of(cls, keyset: KeySet, *, table: str, column: str) -> RrnSealer:
        sealing = keyset.primary(KeyPurpose.RRN_ENCRYPTION)
        return cls(
            index_keys=tuple(
                (key.kid, key.secret_bytes()) for key in keyset.keys_for(KeyPurpose.BLIND_INDEX)
            ),
            seal_kid=sealing.kid,
            seal_secret=sealing.secret_bytes(),
            table=table,
            column=column,
        )

    def __repr__(self) -> str:
        kids = [kid for kid, _ in self.index_keys]
        return f"RrnSealer(index_kids={kids!r}, seal_kid={self.seal_kid!r})"

    def digests(self, canonical: Sequence[str]) -> list[tuple[str, list[bytes]]]:
        """Per usable blind-index key, primary first: its kid and each RRN's digest under it
        (what `blind_index.candidates` gives for one RRN, for many).

        `canonical` holds RRNs already parsed to their 13 canonical digits
        (`ResidentRegistrationNumber.canonical()`); anything else is refused, since another
        spelling of the same number would get another digest.
        """
        messages = []
        for digits in canonical:
            if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
                raise ValueError("an RRN must be given as its 13 canonical digits")
            messages.append(_LABEL + digits.encode("ascii"))
        return [
            (kid, [hmac.digest(secret, message, "sha256") for message in messages])
            for kid, secret in self.index_keys
        ]

    def seal(self, canonical: Sequence[str], row_ids: Sequence[uuid.UUID]) -> list[Sealed]:
        """Each RRN sealed for its row, as `cipher.encrypt` would seal it."""
        if len(canonical) != len(row_ids):
            raise ValueError("one row id per RRN")
        # The AAD is prefix ‖ row id ‖ suffix; both fixed parts come from associated_data
        # itself (around a probe id), so the layout has one definition.
        probe = associated_data(
            table=self.table, column=self.column, row_id=_PROBE, kid=self.seal_kid
        )
        prefix, suffix = probe.split(str(_PROBE).encode("ascii"))
        aead = _aead(self.seal_secret)
        pool = os.urandom(NONCE_BYTES * len(canonical))
        sealed = []
        for i, (digits, row_id) in enumerate(zip(canonical, row_ids, strict=True)):
            nonce = pool[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
            aad = prefix + str(row_id).encode("ascii") + suffix
            sealed.append(
                Sealed(self.seal_kid, nonce + aead.encrypt(nonce, digits.encode("ascii"), aad))
            )
        return sealed
