"""The key vault: RRN encryption, the RRN blind index, pseudonyms and the key set behind them.

RRNs are encrypted at rest (개인정보 보호법 제24조의2) with AES-256-GCM bound to their location
(`cipher`), found through a keyed blind index (`blind_index`), and never shown to organisations,
who see per-organisation pseudonyms instead (`pseudonym`). All keys live in a key-set file outside
the database (`keyset`) and rotate by kid. This package imports only `cryptography`, pydantic,
the standard library and `schemas`.
"""

from hub.vault.blind_index import BlindIndex, blind_index, candidates
from hub.vault.bulk import RrnSealer
from hub.vault.cipher import Sealed, decrypt, encrypt, reencrypt
from hub.vault.errors import DecryptionError, KeySetError, UnknownKey, VaultError
from hub.vault.key import Key, KeyPurpose, KeyStatus
from hub.vault.keyset import KeySet, LogSigningKey, TokenSigningKey
from hub.vault.pseudonym import log_subject_ref, subject_ref

__all__ = [
    "BlindIndex",
    "DecryptionError",
    "Key",
    "KeyPurpose",
    "KeySet",
    "KeySetError",
    "KeyStatus",
    "LogSigningKey",
    "RrnSealer",
    "Sealed",
    "TokenSigningKey",
    "UnknownKey",
    "VaultError",
    "blind_index",
    "candidates",
    "decrypt",
    "encrypt",
    "log_subject_ref",
    "reencrypt",
    "subject_ref",
]
