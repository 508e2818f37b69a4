"""Webhook signing secrets: minted, shown once, kept sealed, and used to sign each attempt.

Standard Webhooks: the secret is `whsec_` + base64 of random bytes (32 here, within the 24–64
the specification allows), and each request carries `webhook-id`, `webhook-timestamp` and
`webhook-signature` = `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, computed by the
standardwebhooks library over the exact bytes sent. The secret is stored only sealed by
hub.vault (AES-256-GCM, AAD binding table, column, subscription id and key id), so a copied
ciphertext opens nowhere else; it is decrypted only in a worker, just before signing.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from standardwebhooks import Webhook

from hub.vault import KeySet, Sealed, decrypt, encrypt

PREFIX = "whsec_"
SECRET_BYTES = 32
TABLE, COLUMN = "alert_subscriptions", "secret"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def seal(keyset: KeySet, subscription_id: str, secret: str) -> Sealed:
    return encrypt(
        keyset, secret.encode("ascii"), table=TABLE, column=COLUMN, row_id=subscription_id
    )


def unseal(keyset: KeySet, subscription_id: str, kid: str, blob: bytes) -> str:
    plain = decrypt(keyset, Sealed(kid, blob), table=TABLE, column=COLUMN, row_id=subscription_id)
    return plain.decode("ascii")


def headers(secret: str, message_id: str, body: bytes, now: dt.datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed at `now` (each attempt is
    signed afresh: receivers refuse timestamps more than five minutes old)."""
    signature = Webhook(secret).sign(message_id, now, body.decode("utf-8"))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
