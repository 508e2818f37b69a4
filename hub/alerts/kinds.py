"""The event types a subscriber may choose, and what each one discloses.

Each type names the data categories its delivery releases (always the person's pseudonym, plus
the category of the change) and the only details passed on: a registry's free-form details
never travel further than these keys (data minimisation, 개인정보 보호법 §3). Dates are Korean
civil dates; an event's instant is the start of its day in Korea.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from schemas.event import StatusEventType

PSEUDONYM = "identity.pseudonym"
NOTIFICATION = "status.notification"
"""The purpose of every status alert (fass-status-notification: 사회보장기본법 §37)."""
CONSENT_ADMINISTRATION = "consent.administration"
CONSENT_WITHDRAWN = "consent.withdrawn"
DUPLICATE_FOUND = "duplicate.found"
CLOUDEVENT_TYPE_PREFIX = "kr.welfarehub."
KST = dt.timezone(dt.timedelta(hours=9), "KST")


@dataclass(frozen=True)
class Kind:
    category: str
    """The category of the change, released beside the pseudonym."""
    details: tuple[str, ...] = ()
    """Detail keys passed on to subscribers; any other key is dropped."""
    purpose: str = NOTIFICATION
    registry_only: bool = False
    """A civil-status change: only the resident registry may report it (주민등록법)."""

    @property
    def categories(self) -> tuple[str, str]:
        return (PSEUDONYM, self.category)


KINDS: dict[str, Kind] = {
    StatusEventType.PERSON_DIED: Kind("civil.status", registry_only=True),
    StatusEventType.PERSON_DEREGISTERED: Kind("civil.status", registry_only=True),
    StatusEventType.PERSON_ADDRESS_CHANGED: Kind(
        "civil.address", ("new_region_code",), registry_only=True
    ),
    StatusEventType.ELIGIBILITY_CHANGED: Kind("status.basic_livelihood", ("programme", "change")),
    StatusEventType.PERSON_FACILITY_ADMITTED: Kind("status.facility", ("facility",)),
    StatusEventType.PERSON_FACILITY_DISCHARGED: Kind("status.facility", ("facility",)),
    DUPLICATE_FOUND: Kind(
        "duplicate.finding", ("finding_id", "rule_id", "programme", "conflicting_programme")
    ),
    CONSENT_WITHDRAWN: Kind(
        "consent.record", ("consent_id", "controller"), purpose=CONSENT_ADMINISTRATION
    ),
}
EVENT_TYPES: tuple[str, ...] = tuple(str(code) for code in KINDS)


def kind_of(event_type: str) -> Kind:
    return KINDS[event_type]


def cloudevent_type(event_type: str) -> str:
    return CLOUDEVENT_TYPE_PREFIX + event_type


def start_of_day(day: dt.date) -> dt.datetime:
    """The instant a Korean civil date begins, in UTC."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=KST).astimezone(dt.UTC)


def civil_date(instant: dt.datetime) -> dt.date:
    """The Korean civil date of an instant."""
    return instant.astimezone(KST).date()


def passed_on(event_type: str, details: dict[str, str]) -> dict[str, str]:
    """The details a subscriber may see: only the type's own keys."""
    keys = KINDS[event_type].details
    return {key: details[key] for key in keys if key in details}
