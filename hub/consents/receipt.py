"""Signed consent receipts, laid out after the Kantara Initiative Consent Receipt v1.1.

The receipt is a JWS (RFC 7515, compact, RS256) signed with the hub's token-signing key, so
anyone can verify it with the keys published at `/.well-known/jwks.json`. It attests to the
consent as given; whether it still stands is what `GET /v1/consents/{id}` answers. The person
appears only as the controller's pseudonym (`piiPrincipalId`), never by RRN or name.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from joserfc import jws
from joserfc.jwk import RSAKey

from hub.vault import KeySet
from schemas.catalogue import Catalogue
from schemas.consent import Consent

VERSION = "KI-CR-v1.1.0"


def claims(
    consent: Consent,
    *,
    subject_ref: str,
    controller_name: str,
    catalogue: Catalogue,
    issuer: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """The receipt's fields (Kantara CR v1.1 names), plus `iss` and `iat` (RFC 7519)."""
    sensitive = sorted(c for c in consent.data_categories if catalogue.data_categories[c].sensitive)
    termination = (
        f"on withdrawal or at {consent.valid_until.isoformat()}"
        if consent.valid_until
        else "on withdrawal"
    )
    return {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "version": VERSION,
        "jurisdiction": "KR",
        "consentTimestamp": int(consent.given_at.timestamp()),
        "collectionMethod": consent.collection_method.value,
        "consentReceiptID": consent.id,
        "language": "ko",
        "piiPrincipalId": subject_ref,
        "piiControllers": [
            {
                "piiController": controller_name,
                "piiControllerId": consent.controller,
                "onBehalf": False,
            }
        ],
        "services": [
            {
                "service": "범정부 복지정보 연계 (welfare data exchange)",
                "purposes": [
                    {
                        "purpose": purpose,
                        "purposeCategory": [catalogue.purposes[purpose].name_en],
                        "consentType": "EXPLICIT",
                        "piiCategory": list(consent.data_categories),
                        "primaryPurpose": index == 0,
                        "termination": termination,
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": ", ".join(consent.recipients),
                    }
                    for index, purpose in enumerate(consent.purposes)
                ],
            }
        ],
        "sensitive": bool(sensitive),
        "spiCat": sensitive,
        "evidenceSha256": consent.form_sha256,
        "validFrom": consent.valid_from.isoformat(),
        "validUntil": consent.valid_until.isoformat() if consent.valid_until else None,
    }


def sign(keyset: KeySet, payload: dict[str, Any]) -> str:
    """The compact JWS of `payload`, under the primary token-signing key."""
    signing = keyset.token_signing_private_key()
    key = RSAKey.import_key(signing.private_key, {"kid": signing.kid, "use": "sig", "alg": "RS256"})
    header = {"alg": "RS256", "kid": signing.kid, "typ": "JWT"}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return jws.serialize_compact(header, body, key)
