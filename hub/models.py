"""Every table of the hub, imported in one place so Alembic sees one metadata."""

from audit.models import (
    AuditCheckpoint,
    AuditLeaf,
    AuditNode,
    AuditPending,
    AuditPruning,
    DisclosureEntry,
)
from hub.alerts.models import AlertDelivery, AlertSubscription
from hub.auth.models import Client, UsedAssertion
from hub.cases.models import (
    Case,
    CaseAssessment,
    CaseCounter,
    CaseNote,
    CasePlanItem,
    CaseReferral,
    CaseShare,
    CaseStep,
)
from hub.catalogue.models import Programme
from hub.consents.models import ConsentRow
from hub.duplicates.models import DuplicateFinding, DuplicateResolution, DuplicateScan
from hub.events.models import Event
from hub.idempotency.models import IdempotentResponse
from hub.ingest.models import IngestBatch, IngestRejection
from hub.kit.base import Base
from hub.organisations.models import Organisation
from hub.records.models import AttributeFact, Enrolment, Person, StatusEvent

__all__ = [
    "AlertDelivery",
    "AlertSubscription",
    "AttributeFact",
    "AuditCheckpoint",
    "AuditLeaf",
    "AuditNode",
    "AuditPending",
    "AuditPruning",
    "Base",
    "Case",
    "CaseAssessment",
    "CaseCounter",
    "CaseNote",
    "CasePlanItem",
    "CaseReferral",
    "CaseShare",
    "CaseStep",
    "Client",
    "ConsentRow",
    "DisclosureEntry",
    "DuplicateFinding",
    "DuplicateResolution",
    "DuplicateScan",
    "Enrolment",
    "Event",
    "IdempotentResponse",
    "IngestBatch",
    "IngestRejection",
    "Organisation",
    "Person",
    "Programme",
    "StatusEvent",
    "UsedAssertion",
]
