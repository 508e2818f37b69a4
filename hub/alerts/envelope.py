"""The alert as a CloudEvent 1.0, in the structured JSON mode, built by the cloudevents SDK.

The same envelope goes to a webhook and into the pull feed. Its `id` is the delivery's id: the
event as this subscriber sees it, the same on every retry (and the `webhook-id`). It is not the
hub's internal event id, which every recipient of the event would share: that would give two
agencies a common key on which to join their pseudonyms of the person, which per-organisation
`subject_ref`s exist to prevent (DESIGN.md). `sequence` (the CloudEvents sequence extension)
carries the subscription's feed position, so a webhook receiver can detect gaps as well.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from hub.alerts.kinds import cloudevent_type

CONTENT_TYPE = "application/cloudevents+json"


@dataclass(frozen=True)
class Alert:
    """What a delivery row holds about its event."""

    id: uuid.UUID
    seq: int
    type: str
    occurred_at: dt.datetime
    source_org: str
    data: dict[str, Any]


def source_uri(base_url: str, organisation: str) -> str:
    """The CloudEvent `source`: the organisation that reported the change, under the hub."""
    return f"{base_url}/sources/{organisation}"


def cloudevent(alert: Alert, base_url: str) -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": str(alert.id),
            "source": source_uri(base_url, alert.source_org),
            "type": cloudevent_type(alert.type),
            "specversion": "1.0",
            "time": alert.occurred_at,
            "datacontenttype": "application/json",
            "sequence": str(alert.seq),
        },
        data=dict(alert.data),
    )


def structured(alert: Alert, base_url: str) -> HTTPMessage:
    """The HTTP body and content type of the structured-mode event (sign these exact bytes)."""
    return to_structured_event(cloudevent(alert, base_url))


def as_json(alert: Alert, base_url: str) -> dict[str, Any]:
    """The structured event as a JSON object, for the pull feed."""
    parsed: dict[str, Any] = json.loads(structured(alert, base_url).body)
    return parsed
