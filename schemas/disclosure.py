"""A disclosure-log entry: who learned what about whom, why, on what basis, and the decision.

PIPA §17 and §18 require a controller that provides personal data to a third party to be able
to account for each provision; the hub keeps that account as an append-only, Merkle-sequenced
log (DESIGN.md, "The disclosure log"). An entry never names the person: `subject_ref` is the
person's pseudonym in the log's own space (``lsr_…``), so the log can be searched by subject
without holding an RRN or a name.

The entry's bytes in the Merkle tree are its canonical JSON (RFC 8785), so anyone holding an
exported entry can recompute its leaf hash.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import rfc8785
from pydantic import BaseModel, StringConstraints

from schemas.common import (
    FROZEN_STRICT,
    DataCategoryCode,
    DottedCode,
    OrganisationCode,
    PurposeCode,
    UtcDateTime,
)

Basis = Annotated[
    str, StringConstraints(pattern=r"^(statute:[a-z0-9]+(-[a-z0-9]+)*|consent:[\x21-\x7E]{1,64})$")
]
"""`statute:<legal basis code>` or `consent:<consent id>`."""

Token = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7E]{1,128}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]


class Decision(StrEnum):
    PERMIT = "permit"
    DENY = "deny"


class Disclosure(BaseModel):
    """One entry of the disclosure log (one disclosure or one refusal)."""

    model_config = FROZEN_STRICT

    recorded_at: UtcDateTime
    action: DottedCode
    """What was asked, e.g. ``eligibility.verify`` or ``audit.disclosures.list``."""
    organisation: OrganisationCode
    """The requesting organisation."""
    client_id: Token | None = None
    actor: Token | None = None
    """The person or system acting for the organisation, as the client stated it."""
    subject_ref: Annotated[str, StringConstraints(pattern=r"^lsr_[a-z2-7]{32}$")] | None = None
    """The person, in the log's pseudonym space; None for a query about no one person."""
    purpose: PurposeCode
    basis: Basis | None = None
    """None only for a refusal that found no basis."""
    data_categories: tuple[DataCategoryCode, ...] = ()
    fields: tuple[FieldName, ...] = ()
    """The fields released (none for a refusal)."""
    decision: Decision
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    request_id: Token | None = None
    rule_set_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    """SHA-256 of the catalogue (rules) the decision was taken under."""

    def canonical(self) -> bytes:
        """The entry's bytes in the Merkle tree: RFC 8785 canonical JSON."""
        return rfc8785.dumps(self.model_dump(mode="json"))
