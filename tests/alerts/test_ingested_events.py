"""Registry events ingested from a MOIS file are fanned out in the file's own transaction: once
the file is applied the deliveries and their log entries exist, before any worker runs, and a
file sent again adds nothing."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from connectors.registry import load_mappings
from hub.database import Database
from hub.events.models import Event
from hub.ingest.service import ingest_file
from hub.vault import KeySet, subject_ref
from tests.alerts.support import TODAY, deliveries, enrol, organisation, person, subscribe

REGISTRY_FEED = textwrap.dedent(
    """\
    source: alerts-test-registry
    owners: [MOIS-RRS]
    description: A test-only registry change feed (JSON Lines).
    record: status_event
    format: {kind: jsonl}
    fields:
      rrn: {column: rrn}
      name: {column: name}
      region_code: {column: region}
      source_event_id: {column: event_id}
      type: {column: kind, codes: {DEATH: person.died, MOVE: person.address_changed}}
      effective_date: {column: date, date: ["%Y-%m-%d"]}
      new_region_code: {column: new_region, required: false}
    """
)


async def test_an_ingested_death_is_fanned_out_with_the_file(
    api: httpx.AsyncClient, db: Database, keys: KeySet, alerts_app: FastAPI, tmp_path: Path
) -> None:
    (tmp_path / "alerts-test-registry.yaml").write_text(REGISTRY_FEED, encoding="utf-8")
    catalogue = alerts_app.state.catalogue
    mapping = load_mappings(catalogue, [tmp_path])["alerts-test-registry"]
    ministry = await organisation(api, db)
    who, moved = await person(db, keys), await person(db, keys)
    record_id = await enrol(db, who, "MOHW-BASIC-PENSION", ministry.code)
    await enrol(db, moved, "MOHW-BASIC-PENSION", ministry.code)
    sub = await subscribe(api, ministry, ["person.died", "person.address_changed"])
    rows = [
        {"rrn": who.rrn, "name": "홍길동", "region": "11350", "event_id": f"D-{record_id}",
         "kind": "DEATH", "date": TODAY.isoformat()},
        {"rrn": moved.rrn, "name": "홍길동", "region": "11350", "event_id": f"M-{record_id}",
         "kind": "MOVE", "date": TODAY.isoformat(), "new_region": "5011011700"},
    ]  # fmt: skip
    content = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode()

    for _ in range(2):  # the second time every row is unchanged
        report = await ingest_file(
            db,
            keyset=keys,
            catalogue=catalogue,
            mapping=mapping,
            organisation="MOIS-RRS",
            stream=io.BytesIO(content),
        )
        assert report.batch.rejected == 0

    told = await deliveries(db, sub["id"])
    assert [(d.seq, d.type) for d in told] == [(1, "person.died"), (2, "person.address_changed")]
    assert told[0].data["subject_ref"] == subject_ref(keys, who.id, ministry.code)
    assert told[0].data["enrolments"] == [
        {"programme": "MOHW-BASIC-PENSION", "source_record_id": record_id}
    ]
    assert told[1].data["new_region_code"] == "5011011700"
    async with db.transaction() as session:
        events = list(
            await session.scalars(select(Event).where(Event.person_id.in_([who.id, moved.id])))
        )
    assert len(events) == 2
    assert all(e.fanned_out_at == e.recorded_at for e in events)  # in the file's transaction
