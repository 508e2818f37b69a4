"""Who needs to know of an event about a person, and on which basis they may be told.

Need to know (DOMAIN.md, scenario C): an organisation is told of a change only if, at the
event's time, it serves the person: it has an active enrolment of the person (status active,
period covering the event's date) that it reported or in a programme it runs (as ministry or
operator), it takes part in an open case of the person (the lead, or a co-manager the case was
shared with: hub.cases), or the person's consent names it as a recipient and was in force then.
A `duplicate.found` event (hub.duplicates.announce) is narrower: only the organisations serving
the person in one of the finding's two programmes are told.

Need to know is not yet a basis. Each delivery passes `consent.policy.decide` for the purpose
`status.notification`, through `Context.decide`: serving the person through its own programme
lets a public body rely on fass-status-notification (사회보장기본법 §37, requires_own_programme);
anyone else, private welfare centres included, needs a consent in force now that names it, the
purpose and the category. A withdrawal of consent is the one exception: it is shown to the
recipients the consent names on the consent itself, as the consent registry does
(hub.api.consents, ARCHITECTURE.md §7).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts.kinds import CONSENT_WITHDRAWN, DUPLICATE_FOUND, civil_date
from hub.cases.participants import open_cases_of
from hub.consents.models import ConsentRow
from hub.consents.service import as_consent
from hub.database import one_of
from hub.records.models import Enrolment
from schemas.catalogue import Catalogue
from schemas.consent import Consent, ConsentState


@dataclass(frozen=True)
class Served:
    """An enrolment through which an organisation serves the person."""

    programme: str
    source_org: str
    source_record_id: str


class Active(NamedTuple):
    """An active enrolment, as the fan-out reads it (plain tuples: thousands per batch)."""

    programme: str
    source_org: str
    source_record_id: str
    period_start: dt.date
    period_end: dt.date | None


class CaseLink(NamedTuple):
    """An open case of the person and the organisations taking part in it."""

    number: str
    participants: frozenset[str]


@dataclass
class People:
    """What the fan-out of one batch of events needs to know about their persons."""

    enrolments: dict[uuid.UUID, list[Active]]
    consents: dict[uuid.UUID, list[Consent]]
    consent_rows: dict[str, ConsentRow]
    cases: dict[uuid.UUID, list[CaseLink]] = field(default_factory=dict)

    @classmethod
    async def load(
        cls, session: AsyncSession, person_ids: Iterable[uuid.UUID], consent_ids: Iterable[str]
    ) -> People:
        persons = list(set(person_ids))
        enrolments: dict[uuid.UUID, list[Active]] = defaultdict(list)
        consents: dict[uuid.UUID, list[Consent]] = defaultdict(list)
        rows: dict[str, ConsentRow] = {}
        if persons:
            found = await session.execute(
                select(
                    Enrolment.person_id,
                    Enrolment.programme_code,
                    Enrolment.source_org,
                    Enrolment.source_record_id,
                    Enrolment.period_start,
                    Enrolment.period_end,
                ).where(one_of(session, Enrolment.person_id, persons), Enrolment.status == "active")
            )
            for person_id, *enrolment in found.all():
                enrolments[person_id].append(Active(*enrolment))
            for row in await session.scalars(
                select(ConsentRow).where(one_of(session, ConsentRow.person_id, persons))
            ):
                consents[row.person_id].append(as_consent(row))
                rows[row.id] = row
        wanted = [i for i in set(consent_ids) if i not in rows]
        if wanted:
            for row in await session.scalars(select(ConsentRow).where(ConsentRow.id.in_(wanted))):
                rows[row.id] = row
        cases = {
            person_id: [CaseLink(number, who) for number, who in links]
            for person_id, links in (await open_cases_of(session, persons)).items()
        }
        return cls(enrolments, consents, rows, cases)


@functools.lru_cache(maxsize=1024)
def runs(catalogue: Catalogue, organisation: str) -> frozenset[str]:
    """The programmes an organisation runs: as their ministry or as the body that runs them
    for the ministry."""
    return frozenset(p.code for p in catalogue.programmes_of(organisation))


def serving(
    catalogue: Catalogue, enrolments: Sequence[Active], organisation: str, day: dt.date
) -> list[Served]:
    """The organisation's active enrolments of the person that cover `day`."""
    own = runs(catalogue, organisation)
    return [
        Served(e.programme, e.source_org, e.source_record_id)
        for e in enrolments
        if e.period_start <= day
        and (e.period_end is None or day <= e.period_end)
        and (e.source_org == organisation or e.programme in own)
    ]


def consenting(consents: Sequence[Consent], organisation: str, at: dt.datetime) -> list[Consent]:
    """Consents that name the organisation as a recipient and were in force at `at`."""
    return [
        c for c in consents if organisation in c.recipients and c.state(at) is ConsentState.ACTIVE
    ]


@dataclass(frozen=True)
class Relation:
    """Why an organisation needs to know of one event."""

    served: list[Served]
    consents: list[Consent]
    cases: list[str] = field(default_factory=list)
    """Numbers of the open cases of the person the organisation takes part in."""


def relation(
    catalogue: Catalogue,
    people: People,
    *,
    event_type: str,
    person_id: uuid.UUID,
    occurred_at: dt.datetime,
    details: dict[str, str],
    organisation: str,
) -> Relation | None:
    """How `organisation` serves the person at the event's time, or None (not told)."""
    if event_type == CONSENT_WITHDRAWN:
        row = people.consent_rows.get(details.get("consent_id", ""))
        if row is None or organisation not in row.recipients:
            return None
        return Relation([], [as_consent(row)])
    served = serving(
        catalogue, people.enrolments.get(person_id, []), organisation, civil_date(occurred_at)
    )
    consents = consenting(people.consents.get(person_id, []), organisation, occurred_at)
    cases = [c.number for c in people.cases.get(person_id, []) if organisation in c.participants]
    if event_type == DUPLICATE_FOUND:
        # Only the organisations running one of the finding's two programmes for the person
        # need to know of it; another body that serves the person, or holds a consent, learns
        # nothing. A private facility still needs a consent as its basis (hub.alerts.fanout).
        pair = {details.get("programme"), details.get("conflicting_programme")}
        served = [s for s in served if s.programme in pair]
        return Relation(served, consents) if served else None
    if not served and not consents and not cases:
        return None
    return Relation(served, consents, cases)
