"""Every table of the hub, imported in one place so Alembic sees one metadata."""

from hub.auth.models import Client, UsedAssertion
from hub.catalogue.models import Programme
from hub.ingest.models import IngestBatch, IngestRejection
from hub.kit.base import Base
from hub.organisations.models import Organisation
from hub.records.models import AttributeFact, Enrolment, Person, StatusEvent

__all__ = [
    "AttributeFact",
    "Base",
    "Client",
    "Enrolment",
    "IngestBatch",
    "IngestRejection",
    "Organisation",
    "Person",
    "Programme",
    "StatusEvent",
    "UsedAssertion",
]
