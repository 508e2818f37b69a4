"""The bulk sealer gives what the one-at-a-time functions give: the same digests as
`candidates`, and seals that `decrypt` opens for the right row only."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, date, datetime

import pytest

from hub.vault import (
    DecryptionError,
    KeyPurpose,
    KeySet,
    RrnSealer,
    Sealed,
    candidates,
    decrypt,
)
from schemas.identifiers import parse_rrn

TODAY = date(2026, 11, 22)
LATER = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NUMBERS = ["900101-1234567", "000229-3123456", "851231-2000001", "720615-6543210"]


def test_digests_are_those_of_candidates_under_every_usable_key(keyset: KeySet) -> None:
    # During a re-index two blind-index keys are usable: the new primary first.
    rotated = keyset.rotate(KeyPurpose.BLIND_INDEX, LATER, force=True)
    rrns = [parse_rrn(n, today=TODAY) for n in NUMBERS]
    sealer = RrnSealer.of(rotated, table="persons", column="rrn")
    per_key = sealer.digests([r.canonical() for r in rrns])
    assert len(per_key) == 2
    for i, rrn in enumerate(rrns):
        expected = [(c.kid, c.digest) for c in candidates(rotated, rrn)]
        assert [(kid, digests[i]) for kid, digests in per_key] == expected


def test_seals_open_with_decrypt_for_their_own_row_only(keyset: KeySet) -> None:
    sealer = RrnSealer.of(keyset, table="persons", column="rrn")
    digits = [parse_rrn(n, today=TODAY).canonical() for n in NUMBERS]
    ids = [uuid.uuid4() for _ in digits]
    sealed = sealer.seal(digits, ids)
    assert len({s.blob[:12] for s in sealed}) == len(sealed)  # a nonce each
    for plain, row_id, seal in zip(digits, ids, sealed, strict=True):
        assert seal.kid == keyset.primary(KeyPurpose.RRN_ENCRYPTION).kid
        opened = decrypt(keyset, seal, table="persons", column="rrn", row_id=row_id)
        assert opened == plain.encode("ascii")
    with pytest.raises(DecryptionError):
        decrypt(
            keyset,
            Sealed(sealed[0].kid, sealed[0].blob),
            table="persons",
            column="rrn",
            row_id=ids[1],
        )


def test_other_spellings_are_refused(keyset: KeySet) -> None:
    sealer = RrnSealer.of(keyset, table="persons", column="rrn")
    for spelling in ["900101-1234567", "90010112345", "９００１０１１２３４５６７"]:
        with pytest.raises(ValueError, match="13 canonical digits"):
            sealer.digests([spelling])


def test_travels_to_a_process_without_showing_secrets(keyset: KeySet) -> None:
    sealer = RrnSealer.of(keyset, table="persons", column="rrn")
    assert pickle.loads(pickle.dumps(sealer)) == sealer  # noqa: S301 (our own bytes)
    secret = keyset.primary(KeyPurpose.BLIND_INDEX).secret_bytes()
    assert secret.hex() not in repr(sealer)
    assert repr(secret) not in repr(sealer)
