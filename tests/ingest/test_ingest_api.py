"""POST /v1/ingest/{source} and GET /v1/ingest/batches/{id} over HTTP, on both databases:
rows applied, rejections explained without personal data, idempotent re-ingest, broken files
refused whole, ownership and scope enforced, and a source that exists only as a mapping file."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import httpx
from sqlalchemy import func, select

from hub.database import Database
from hub.records.facts import Fact, facts_of
from hub.records.models import AttributeFact, Enrolment, Person, StatusEvent
from schemas.catalogue import load_catalogue
from tests.factories import bearer, new_client, new_rrn
from tests.ingest.conftest import csv_file


async def upload(
    api: httpx.AsyncClient, headers: dict, source: str, content: bytes, name: str = "f"
) -> httpx.Response:
    return await api.post(f"/v1/ingest/{source}", headers=headers, files={"file": (name, content)})


async def mohw_headers(api: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return await bearer(api, await new_client(db, organisation="MOHW"))


async def count(db: Database, model, **where) -> int:  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


async def test_a_new_source_defined_only_by_a_mapping_file(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    headers = await mohw_headers(ingest_api, db)
    rrn = new_rrn()
    ids = [f"W-{uuid.uuid4().hex[:8]}-{i}" for i in range(2)]
    content = csv_file(
        f'{rrn},김민지,11350,H-{ids[0]},{ids[0]},1001,20240101,99991231,01,"650,000"',
        f"{rrn},김민지,11350,H-{ids[0]},{ids[1]},2001,20240301,20241231,01,",
    )
    response = await upload(ingest_api, headers, "test-welfare", content)
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["rows"], report["inserted"], report["rejected"]) == (2, 2, 0)
    assert report["status"] == "completed"
    assert await count(db, Enrolment, source_record_id=ids[0]) == 1

    fetched = await ingest_api.get(f"/v1/ingest/batches/{report['batch_id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json()["inserted"] == 2


async def test_rejections_name_row_field_and_reason_without_personal_data(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    headers = await mohw_headers(ingest_api, db)
    good, bad_date = new_rrn(), new_rrn()
    tag = uuid.uuid4().hex[:8]
    content = csv_file(
        f"{good},박서준,11350,,R-{tag}-1,1001,20240101,,01,",
        f"{bad_date},최지우,11350,,R-{tag}-2,1001,20240231,,01,",
        f"{good},박서준,11350,,R-{tag}-3,7777,20240101,,01,",
        f"{good},박서준,11350,,R-{tag}-4,1001,20240301,20240201,01,",
        f"999999-9999999,정하늘,11350,,R-{tag}-5,1001,20240101,,01,",
        f"{good},박서준,11350,,R-{tag}-6,1001,20240101,,05,",
        f"{good},,11350,,R-{tag}-7,1001,20240101,,01,",
        f"{good},박서준,11350,,R-{tag}-1,1001,20240101,,02,",
    )
    response = await upload(ingest_api, headers, "test-welfare", content)
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["inserted"], report["rejected"]) == (1, 7)
    by_row = {r["row"]: r for r in report["rejections"]}
    assert by_row[2]["field"] == "period_start (급여개시일)"
    assert "YYYYMMDD" in by_row[2]["reason"]
    assert by_row[3]["field"] == "programme (사업코드)"
    assert "7777" in by_row[3]["reason"]
    assert by_row[4]["field"] == "period_end (급여종료일)"
    assert by_row[5]["field"] == "rrn (주민등록번호)"
    assert by_row[6]["field"] == "status (상태)"
    assert by_row[7]["field"] == "name (성명)"
    assert "different content" in by_row[8]["reason"]
    assert by_row[8]["location"] == "line 9"
    text = json.dumps(report, ensure_ascii=False)
    for secret in (
        good,
        bad_date,
        good.replace("-", ""),
        "999999-9999999",
        "박서준",
        "최지우",
        "정하늘",
    ):
        assert secret not in text


async def test_reingesting_the_same_file_changes_nothing(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    headers = await mohw_headers(ingest_api, db)
    tag = uuid.uuid4().hex[:8]
    content = csv_file(
        f"{new_rrn()},한가람,50110,H-{tag},I-{tag}-1,1001,20230101,20231231,09,300000",
        f"{new_rrn()},한가람,50110,H-{tag},I-{tag}-2,1004,20230101,,01,",
        f"{new_rrn()},윤슬기,50110,H-{tag},I-{tag}-3,2001,20230601,,02,",
    )
    first = (await upload(ingest_api, headers, "test-welfare", content)).json()
    assert first["inserted"] == 3
    before = [await count(db, m) for m in (Person, Enrolment, AttributeFact)]
    second = (await upload(ingest_api, headers, "test-welfare", content)).json()
    assert (second["inserted"], second["updated"], second["unchanged"], second["rejected"]) == (
        0,
        0,
        3,
        0,
    )
    assert [await count(db, m) for m in (Person, Enrolment, AttributeFact)] == before


async def test_changed_record_changes_the_facts_it_confers(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    headers = await mohw_headers(ingest_api, db)
    rrn, tag = new_rrn(), uuid.uuid4().hex[:8]
    row = f"{rrn},서하윤,11350,,D-{tag},1001,20240101,,{{status}},"
    first = await upload(ingest_api, headers, "test-welfare", csv_file(row.format(status="01")))
    assert first.json()["inserted"] == 1

    async def conferred() -> list[Fact]:
        async with db.transaction() as session:
            enrolment = await session.scalar(
                select(Enrolment).where(Enrolment.source_record_id == f"D-{tag}")
            )
            return await facts_of(session, load_catalogue(), [enrolment.person_id])

    facts = await conferred()
    assert {(f.attribute, f.value, f.programme) for f in facts} == {
        ("basic_livelihood.recipient", True, "MOHW-BLS-LIVELIHOOD"),
        ("basic_livelihood.benefit", "livelihood", "MOHW-BLS-LIVELIHOOD"),
    }
    assert all(f.valid_from.isoformat() == "2024-01-01" and f.valid_to is None for f in facts)
    assert all(f.source_org == "MOHW" for f in facts)

    suspended = await upload(ingest_api, headers, "test-welfare", csv_file(row.format(status="02")))
    assert suspended.json()["updated"] == 1
    assert await conferred() == []
    assert await count(db, Enrolment, source_record_id=f"D-{tag}") == 1


async def test_missing_column_refuses_the_whole_file(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    headers = await mohw_headers(ingest_api, db)
    tag = uuid.uuid4().hex[:8]
    renamed = (
        "주민등록번호,성명,시군구코드,가구번호,급여ID,사업코드,개시일자,급여종료일,상태,지급액"
    )
    content = csv_file(f"{new_rrn()},가나다,11350,,M-{tag},1001,20240101,,01,", header=renamed)
    before = await count(db, Enrolment)
    response = await upload(ingest_api, headers, "test-welfare", content)
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["errors"] == [{"field": "line 1", "reason": "missing column 급여개시일"}]
    assert await count(db, Enrolment) == before
    batch = await ingest_api.get(f"/v1/ingest/batches/{problem['batch_id']}", headers=headers)
    assert batch.json()["status"] == "failed"
    assert "급여개시일" in batch.json()["error"]


async def test_wrong_encoding_refuses_the_whole_file(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    headers = await mohw_headers(ingest_api, db)
    tag = uuid.uuid4().hex[:8]
    utf8 = (
        csv_file(f"{new_rrn()},가나다,11350,,E-{tag},1001,20240101,,01,")
        .decode("cp949")
        .encode("utf-8")
    )
    before = await count(db, Enrolment)
    response = await upload(ingest_api, headers, "test-welfare", utf8)
    assert response.status_code == 422, response.text
    assert await count(db, Enrolment) == before


async def test_registry_events_change_civil_status(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    headers = await bearer(ingest_api, await new_client(db, organisation="MOIS-RRS"))
    dead, mover, tag = new_rrn(), new_rrn(), uuid.uuid4().hex[:8]
    lines = [
        {
            "rrn": dead,
            "name": "고인",
            "region": "11350",
            "event_id": f"E-{tag}-1",
            "kind": "DEATH",
            "date": "2026-10-01",
        },
        {
            "rrn": mover,
            "name": "이사",
            "region": "11350",
            "event_id": f"E-{tag}-2",
            "kind": "MOVE",
            "date": "2026-10-02",
            "new_region": "50110",
        },
    ]
    content = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    response = await upload(ingest_api, headers, "test-registry", content)
    assert response.status_code == 201, response.text
    assert response.json()["inserted"] == 2
    assert await count(db, StatusEvent, source_event_id=f"E-{tag}-1") == 1
    async with db.transaction() as session:
        people = (
            await session.scalars(select(Person).where(Person.name.in_(["고인", "이사"])))
        ).all()
    statuses = {p.name: (p.civil_status, p.civil_status_date, p.region_code) for p in people}
    assert statuses["고인"][0] == "deceased"
    assert statuses["고인"][1].isoformat() == "2026-10-01"
    assert statuses["이사"][2] == "50110"


async def test_a_persons_events_in_one_file_apply_in_effective_date_order(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    """Several events of one person in one file leave what applying them one by one, in
    order of effective date, leaves: the latest move's region and the death, whatever the
    order of the lines."""
    headers = await bearer(ingest_api, await new_client(db, organisation="MOIS-RRS"))
    person, other, tag = new_rrn(), new_rrn(), uuid.uuid4().hex[:8]

    def line(rrn: str, number: int, kind: str, date: str, region: str | None = None) -> str:
        event = {"rrn": rrn, "name": "순서", "region": "11350", "event_id": f"E-{tag}-{number}",
                 "kind": kind, "date": date}  # fmt: skip
        if region:
            event["new_region"] = region
        return json.dumps(event, ensure_ascii=False)

    lines = [
        line(person, 1, "MOVE", "2026-10-02", "50110"),
        line(person, 2, "DEATH", "2026-10-05"),
        line(person, 3, "MOVE", "2026-10-01", "26110"),  # earlier than the first line's move
        line(other, 4, "MOVE", "2026-10-03", "26110"),
    ]
    response = await upload(ingest_api, headers, "test-registry", "\n".join(lines).encode())
    assert response.status_code == 201, response.text
    assert response.json()["inserted"] == 4
    async with db.transaction() as session:
        found = {}
        for number in (1, 4):
            person_id = await session.scalar(
                select(StatusEvent.person_id).where(
                    StatusEvent.source_event_id == f"E-{tag}-{number}"
                )
            )
            found[number] = await session.get(Person, person_id)
    assert found[1] is not None
    assert found[4] is not None
    assert (found[1].civil_status, found[1].civil_status_date.isoformat()) == (
        "deceased",
        "2026-10-05",
    )
    assert found[1].region_code == "50110"
    assert (found[4].civil_status, found[4].region_code) == ("alive", "26110")


async def test_unknown_source_is_404(ingest_api: httpx.AsyncClient, db: Database) -> None:
    headers = await mohw_headers(ingest_api, db)
    response = await upload(ingest_api, headers, "no-such-source", b"x")
    assert response.status_code == 404
    assert "test-welfare" in response.json()["detail"]


async def test_only_the_owner_may_send_a_source(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    other = await bearer(ingest_api, await new_client(db, organisation="KFS"))
    response = await upload(ingest_api, other, "test-welfare", csv_file())
    assert response.status_code == 403
    assert response.json()["type"] == "urn:hub:problem:forbidden"


async def test_records_write_scope_is_needed(ingest_api: httpx.AsyncClient, db: Database) -> None:
    reader = await bearer(
        ingest_api, await new_client(db, organisation="MOHW", scopes="benefits:read")
    )
    response = await upload(ingest_api, reader, "test-welfare", csv_file())
    assert response.status_code == 403
    assert response.json()["type"] == "urn:hub:problem:insufficient-scope"


async def test_batches_of_other_organisations_are_not_found(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    headers = await mohw_headers(ingest_api, db)
    report = (await upload(ingest_api, headers, "test-welfare", csv_file())).json()
    other = await bearer(ingest_api, await new_client(db, organisation="KFS"))
    response = await ingest_api.get(f"/v1/ingest/batches/{report['batch_id']}", headers=other)
    assert response.status_code == 404


async def test_a_record_repeated_chunks_later_is_judged_against_the_first(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    """Rows 2,400 and 2,450 repeat rows 10 and 20 in a later chunk than theirs (a chunk is
    2,000 rows): the one with other content is rejected as a conflicting repeat, the one
    with the same content counts as unchanged, and each key is stored once."""
    headers = await mohw_headers(ingest_api, db)
    tag = uuid.uuid4().hex[:8]
    rows = [f"{new_rrn()},나래,11350,,C-{tag}-{i},1001,20240101,,01," for i in range(2500)]
    rows[2399] = rows[9].replace(",20240101,", ",20240301,")
    rows[2449] = rows[19]
    response = await upload(ingest_api, headers, "test-welfare", csv_file(*rows))
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["inserted"], report["unchanged"], report["rejected"]) == (2498, 1, 1)
    (rejection,) = report["rejections"]
    assert rejection["row"] == 2400
    assert "different content" in rejection["reason"]
    assert await count(db, Enrolment, source_record_id=f"C-{tag}-9") == 1
    # Sent again, row 10 is unchanged and writes nothing, yet row 2,400 is still a repeat of
    # it, not a change (hub.ingest.unchanged): re-ingesting the file changes nothing.
    again = (await upload(ingest_api, headers, "test-welfare", csv_file(*rows))).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2499)
    (rejection,) = again["rejections"]
    assert rejection["row"] == 2400
    assert "different content (first at row 10)" in rejection["reason"]
    async with db.transaction() as session:
        start = await session.scalar(
            select(Enrolment.period_start).where(Enrolment.source_record_id == f"C-{tag}-9")
        )
    assert start == dt.date(2024, 1, 1)


async def test_a_file_broken_after_many_good_rows_applies_nothing(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    """The break comes after the first chunks were already written: all of it rolls back."""
    headers = await mohw_headers(ingest_api, db)
    tag = uuid.uuid4().hex[:8]
    good = [f"{new_rrn()},나래,11350,,T-{tag}-{i},1001,20240101,,01," for i in range(2500)]
    content = csv_file(*good) + "깨진줄".encode() + b",\xff\xfe\r\n"
    persons_before, enrolments_before = await count(db, Person), await count(db, Enrolment)
    response = await upload(ingest_api, headers, "test-welfare", content)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "line 2502"
    assert await count(db, Enrolment) == enrolments_before
    assert await count(db, Person) == persons_before


async def test_concurrent_files_sharing_people_both_apply(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    """Two files that create the same new persons in opposite orders, over several chunks each,
    sent at the same time: without serialising ingestions, each would wait on the other's
    uncommitted persons (a deadlock on PostgreSQL)."""
    import asyncio

    headers = await mohw_headers(ingest_api, db)
    shared = [new_rrn() for _ in range(4500)]
    tag = uuid.uuid4().hex[:8]
    first = csv_file(
        *(f"{r},공유,11350,,P-{tag}-a{i},1001,20240101,,01," for i, r in enumerate(shared))
    )
    second = csv_file(
        *(
            f"{r},공유,11350,,P-{tag}-b{i},2001,20240101,,01,"
            for i, r in enumerate(reversed(shared))
        )
    )
    persons_before = await count(db, Person)
    responses = await asyncio.gather(
        upload(ingest_api, headers, "test-welfare", first),
        upload(ingest_api, headers, "test-welfare", second),
    )
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert [r.json()["inserted"] for r in responses] == [4500, 4500]
    assert await count(db, Person) == persons_before + 4500


async def test_a_nul_character_in_a_mapped_field_rejects_only_its_row(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    """PostgreSQL cannot store U+0000 in text (the file was a 500 there; SQLite kept the
    name): the mapper refuses the row, naming the field."""
    headers = await mohw_headers(ingest_api, db)
    tag = uuid.uuid4().hex[:8]
    content = csv_file(
        f"{new_rrn()},박서준,11350,,N-{tag}-1,1001,20240101,,01,",
        f"{new_rrn()},박서\x00준,11350,,N-{tag}-2,1001,20240101,,01,",
    )
    response = await upload(ingest_api, headers, "test-welfare", content)
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["inserted"], report["rejected"]) == (1, 1)
    (rejection,) = report["rejections"]
    assert (rejection["row"], rejection["field"]) == (2, "name (성명)")
    assert "NUL" in rejection["reason"]


async def test_a_person_first_seen_without_a_household_gets_the_one_a_later_file_gives(
    ingest_api: httpx.AsyncClient, db: Database
) -> None:
    """A source that knows no households leaves the person without one; the first later file
    that names the household sets it (in one statement per chunk on PostgreSQL); a household
    once set is not overwritten by another file's."""
    headers = await mohw_headers(ingest_api, db)
    tag = uuid.uuid4().hex[:8]
    first, second, third = new_rrn(), new_rrn(), new_rrn()

    def rows(n: int, *given: tuple[str, str]) -> bytes:
        return csv_file(
            *(
                f"{rrn},나래,11350,{household},H-{tag}-{n}{i},1001,20240101,,01,"
                for i, (rrn, household) in enumerate(given)
            )
        )

    async def households() -> dict[str, str | None]:
        async with db.transaction() as session:
            found = await session.execute(
                select(Enrolment.source_record_id, Person.household_id)
                .join(Person, Person.id == Enrolment.person_id)
                .where(Enrolment.source_record_id.like(f"H-{tag}-%"))
            )
            return dict(found.all())

    sent = await upload(
        ingest_api, headers, "test-welfare", rows(1, (first, ""), (second, ""), (third, ""))
    )
    assert sent.status_code == 201, sent.text
    sent = await upload(
        ingest_api,
        headers,
        "test-welfare",
        rows(2, (first, f"HH-{tag}-1"), (second, ""), (third, f"HH-{tag}-3")),
    )
    assert sent.status_code == 201, sent.text
    sent = await upload(ingest_api, headers, "test-welfare", rows(3, (first, f"HH-{tag}-9")))
    assert sent.status_code == 201, sent.text
    assert await households() == {
        f"H-{tag}-10": f"HH-{tag}-1",
        f"H-{tag}-11": None,
        f"H-{tag}-12": f"HH-{tag}-3",
        f"H-{tag}-20": f"HH-{tag}-1",
        f"H-{tag}-21": None,
        f"H-{tag}-22": f"HH-{tag}-3",
        f"H-{tag}-30": f"HH-{tag}-1",
    }
