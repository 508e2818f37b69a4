"""Duplicate-scan benchmark: all 31 rules over 1,000,000 enrolments on PostgreSQL and SQLite,
beside DuckDB (in memory) running the same overlap join over the same rows as the reference.

    .venv/bin/python benchmarks/duplicates.py                       # 1,000,000 rows, both
    .venv/bin/python benchmarks/duplicates.py --enrolments 100000 --backends sqlite

The rows are generated directly (persons in households, enrolments in every catalogue
programme with realistic periods and statuses, private support acts from three welfare
centres) and bulk-loaded (COPY on PostgreSQL, executemany on SQLite) into a fresh, migrated
database: not through the ingest pipeline, which is measured by benchmarks/ingest.py. Conflicts
arise by chance where one person or household holds two programmes a rule pairs, a few per
hundred people, as in life.

Measured per backend:
- detection: the rule SELECTs (hub.duplicates.sql.matches) counted, nothing stored, the best of
  `--repeat` runs, in two forms: as a scan runs them (the household rules' enrolments
  materialised with their households first, then 31 SELECTs) and plain (31 SELECTs, each
  joining persons, as the ingestion hook runs them). DuckDB runs the very same statements
  (compiled for PostgreSQL), and every engine's counts must agree.
- whole scan: hub.duplicates.scan.scan into an empty findings table, committed (findings and
  scan record stored), then a second scan that finds everything already stored.

Targets (issue 6), PostgreSQL: detection <= 5x DuckDB; whole scan <= 10 s (SQLite <= 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import os
import platform
import random
import secrets
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CENTRES = ("WC-NOWON", "WC-NOWON-2", "WC-ARA")
FIRST_DAY = dt.date(2012, 1, 1).toordinal()
TODAY = dt.date(2026, 11, 1).toordinal()
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


# -- data ------------------------------------------------------------------------------------


@dataclass
class Data:
    persons: list[tuple[uuid.UUID, str | None]]
    """(id, household id or None)."""
    enrolments: list[tuple]
    """(id, person id, programme, source org, record id, start, end, status)."""


def generate(enrolments: int, seed: int) -> Data:
    from schemas.catalogue import load_catalogue
    from schemas.programme import ProgrammeCategory

    rng = random.Random(seed)
    catalogue = load_catalogue()
    persons_count = max(100, int(enrolments / 2.5))
    persons: list[tuple[uuid.UUID, str | None]] = []
    household = 0
    while len(persons) < persons_count:
        household += 1
        size = rng.choice((1, 1, 2, 2, 3, 4))
        hid = None if rng.random() < 0.05 else f"H{household:08d}"
        persons.extend((uuid.UUID(int=rng.getrandbits(128), version=4), hid) for _ in range(size))
    persons = persons[:persons_count]
    public = [p for p in catalogue.programmes.values() if p.ministry is not None]
    private = [
        p.code
        for p in catalogue.programmes.values()
        if p.category is ProgrammeCategory.PRIVATE_SUPPORT
    ]
    rows = []
    for number in range(enrolments):
        person = persons[int(rng.random() * persons_count)][0]
        if rng.random() < 0.12:  # a welfare centre's support act: one day
            day = TODAY - int(rng.random() * 730)
            programme, source, start, end, status = (
                rng.choice(private),
                rng.choice(CENTRES),
                day,
                day,
                "ended",
            )
        else:
            entry = rng.choice(public)
            programme, source = entry.code, entry.operator or entry.ministry
            start = FIRST_DAY + int(rng.random() * (TODAY - FIRST_DAY))
            shape = rng.random()
            if shape < 0.40:
                end, status = None, "active"
            elif shape < 0.85:
                end, status = min(start + 30 + int(rng.random() * 1500), TODAY), "ended"
            elif shape < 0.95:
                end, status = start + 365 + int(rng.random() * 700), "active"
            else:
                end, status = None, "suspended"
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4),
                person,
                programme,
                source,
                f"R{number:09d}",
                dt.date.fromordinal(start),
                None if end is None else dt.date.fromordinal(end),
                status,
            )
        )
    return Data(persons, rows)


# -- loading -----------------------------------------------------------------------------------

PERSON_COLUMNS = (
    "id",
    "rrn_kid",
    "rrn_sealed",
    "rrn_index_kid",
    "rrn_index",
    "name",
    "birth_date",
    "sex",
    "household_id",
    "civil_status",
    "created_at",
    "updated_at",
)
ENROLMENT_COLUMNS = (
    "id",
    "person_id",
    "programme_code",
    "source_org",
    "source_record_id",
    "period_start",
    "period_end",
    "status",
    "fingerprint",
    "created_at",
    "updated_at",
)


def _person_rows(data: Data) -> list[tuple]:
    born = dt.date(1970, 1, 1)
    return [
        (pid, "bench", b"x", "bench", pid.bytes * 2, "벤치", born, "female", hid, "alive", NOW, NOW)
        for pid, hid in data.persons
    ]


def _enrolment_rows(data: Data) -> list[tuple]:
    return [(*row, "x", NOW, NOW) for row in data.enrolments]


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def load_postgres(url: str, data: Data) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.copy_records_to_table(
            "persons", records=_person_rows(data), columns=PERSON_COLUMNS
        )
        await connection.copy_records_to_table(
            "enrolments", records=_enrolment_rows(data), columns=ENROLMENT_COLUMNS
        )
        await connection.execute("VACUUM ANALYZE persons")
        await connection.execute("VACUUM ANALYZE enrolments")
    finally:
        await connection.close()


def _sqlite_value(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def load_sqlite(path: Path, data: Data) -> None:
    connection = sqlite3.connect(path)
    try:
        for table, columns, rows in (
            ("persons", PERSON_COLUMNS, _person_rows(data)),
            ("enrolments", ENROLMENT_COLUMNS, _enrolment_rows(data)),
        ):
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                ([_sqlite_value(v) for v in row] for row in rows),
            )
        connection.commit()
        connection.execute("ANALYZE")
    finally:
        connection.close()


# -- measuring -------------------------------------------------------------------------------


def _household_programmes() -> frozenset[str]:
    from hub.duplicates.rules import resolve
    from schemas.catalogue import load_catalogue
    from schemas.duplicate_rule import RuleScope

    rules = [r for r in resolve(load_catalogue()) if r.rule.scope is RuleScope.HOUSEHOLD]
    return frozenset().union(*(r.a | r.b for r in rules))


def _statements(dialect: str, households: bool) -> list:
    """Each rule's SELECT: as a scan runs it (household rules over the materialised
    households) or, with ``households`` false, as the ingestion hook runs it."""
    from hub.duplicates.rules import resolve
    from hub.duplicates.sql import HOUSEHOLDS, matches
    from schemas.catalogue import load_catalogue

    table = HOUSEHOLDS if households else None
    return [(r.rule.id, matches(dialect, r, households=table)) for r in resolve(load_catalogue())]


async def measure_hub(url: str, repeat: int) -> dict:
    from sqlalchemy import func, select

    import hub.models  # noqa: F401 (every table registered)
    from hub.database import Database
    from hub.duplicates.scan import scan
    from hub.duplicates.store import materialise_households
    from schemas.catalogue import load_catalogue

    catalogue = load_catalogue()
    db = Database(url)
    try:
        dialect = db.engine.dialect.name
        detection: dict[bool, float] = {}
        counts: dict[bool, dict[str, int]] = {True: {}, False: {}}
        for households in (True, False):
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                async with db.transaction() as session:
                    if households:
                        await materialise_households(session, _household_programmes())
                    for rule_id, statement in _statements(dialect, households):
                        query = select(func.count()).select_from(statement.subquery())
                        counts[households][rule_id] = int(await session.scalar(query) or 0)
                best = min(best, time.perf_counter() - started)
            detection[households] = best
        assert counts[True] == counts[False], "the two forms of the join disagree"
        scans = []
        for _ in range(2):
            started = time.perf_counter()
            async with db.transaction() as session:
                report = await scan(session, catalogue, requested_by="benchmark")
            seconds = time.perf_counter() - started
            slowest = sorted(report.rules, key=lambda o: o.seconds, reverse=True)[:3]
            scans.append(
                {
                    "seconds": seconds,
                    "matched": report.scan.matched,
                    "new": report.scan.new_findings,
                    "slowest": [f"{o.rule_id} {o.seconds:.2f}s" for o in slowest],
                }
            )
        async with db.transaction() as session:
            if dialect == "postgresql":
                version = str(await session.scalar(select(func.version()))).split(" on ")[0]
            else:
                version = "SQLite " + str(await session.scalar(select(func.sqlite_version())))
        return {
            "detection": detection[True],
            "plain": detection[False],
            "counts": counts[True],
            "scans": scans,
            "version": version,
        }
    finally:
        await db.dispose()


def measure_duckdb(data: Data, folder: Path, repeat: int) -> dict:
    import duckdb
    from sqlalchemy.dialects import postgresql

    from hub.duplicates.sql import HOUSEHOLDS, household_enrolments

    persons, enrolments = folder / "persons.csv", folder / "enrolments.csv"
    with persons.open("w", newline="") as out:
        csv.writer(out).writerows(data.persons)  # None is written as an empty field: NULL
    with enrolments.open("w", newline="") as out:
        csv.writer(out).writerows(data.enrolments)
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE persons AS SELECT * FROM read_csv(?, header=false, "
        "columns={'id': 'UUID', 'household_id': 'VARCHAR'})",
        [str(persons)],
    )
    connection.execute(
        "CREATE TABLE enrolments AS SELECT * FROM read_csv(?, header=false, columns={"
        "'id': 'UUID', 'person_id': 'UUID', 'programme_code': 'VARCHAR', "
        "'source_org': 'VARCHAR', 'source_record_id': 'VARCHAR', 'period_start': 'DATE', "
        "'period_end': 'DATE', 'status': 'VARCHAR'})",
        [str(enrolments)],
    )
    dialect = postgresql.dialect()

    def sql(statement: object) -> str:
        return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]

    materialise = (
        f"CREATE OR REPLACE TEMP TABLE {HOUSEHOLDS.name} AS "
        f"{sql(household_enrolments(_household_programmes()))}"
    )
    detection: dict[bool, float] = {}
    counts: dict[str, int] = {}
    for households in (True, False):
        statements = [(rule_id, sql(s)) for rule_id, s in _statements("postgresql", households)]
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            if households:
                connection.execute(materialise)
            for rule_id, text in statements:
                query = f"SELECT count(*) FROM ({text}) m"  # noqa: S608 (compiled here)
                counts[rule_id] = connection.execute(query).fetchone()[0]  # type: ignore[index]
            best = min(best, time.perf_counter() - started)
        detection[households] = best
    connection.close()
    return {
        "detection": detection[True],
        "plain": detection[False],
        "counts": counts,
        "version": f"DuckDB {duckdb.__version__}",
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} vCPU ({cpu}), {memory:.0f} GiB RAM, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}"
    )


def main() -> None:
    import sqlalchemy

    from hub import migrations

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrolments", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    data = generate(args.enrolments, args.seed)
    print(
        f"data: {len(data.persons):,} persons, {len(data.enrolments):,} enrolments "
        f"(generated in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    print(f"machine: {machine()}; SQLAlchemy {sqlalchemy.__version__}", flush=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results["duckdb"] = measure_duckdb(data, folder, args.repeat)
        for backend in args.backends.split(","):
            t0 = time.perf_counter()
            if backend == "postgres":
                name = f"hub_bench_dup_{secrets.token_hex(4)}"
                asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
                base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
                url = f"{base}/{name}"
            else:
                url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
            try:
                migrations.upgrade(url)
                if backend == "postgres":
                    asyncio.run(load_postgres(url, data))
                else:
                    load_sqlite(folder / "bench.db", data)
                print(f"{backend}: loaded in {time.perf_counter() - t0:.1f} s", flush=True)
                results[backend] = asyncio.run(measure_hub(url, args.repeat))
            finally:
                if backend == "postgres":
                    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report(results)


def report(results: dict[str, dict]) -> None:
    reference = results["duckdb"]
    print()
    for backend, result in results.items():
        print(f"{backend}: {result['version']}")
    print()
    print(
        f"{'backend':10} {'detect s':>8} {'x DuckDB':>8} {'plain s':>8} {'x DuckDB':>8} "
        f"{'scan s':>7} {'matched':>8} {'new':>8} {'rescan s':>8}  slowest rules (scan)"
    )
    for backend, result in results.items():
        ratio = result["detection"] / reference["detection"]
        plain = result["plain"] / reference["plain"]
        line = (
            f"{backend:10} {result['detection']:>8.2f} {ratio:>8.2f} "
            f"{result['plain']:>8.2f} {plain:>8.2f}"
        )
        if "scans" in result:
            first, second = result["scans"]
            line += (
                f" {first['seconds']:>7.2f} {first['matched']:>8,} {first['new']:>8,}"
                f" {second['seconds']:>8.2f}  {', '.join(first['slowest'])}"
            )
            if result["counts"] != reference["counts"]:
                line += "  (COUNTS DIFFER FROM DUCKDB)"
        else:
            line += f" {'':>7} {sum(result['counts'].values()):>8,}"
        print(line)
    print(
        "detect = as a scan runs it (households materialised, then 31 SELECTs); "
        "plain = 31 SELECTs joining persons, as the ingestion hook runs them"
    )
    for backend, target in (("postgres", 10.0), ("sqlite", 30.0)):
        if backend in results:
            result = results[backend]
            ratio = result["detection"] / reference["detection"]
            scan_s = result["scans"][0]["seconds"]
            if backend == "postgres":
                verdict = "met" if ratio <= 5 else "MISSED"
                print(f"target detection <= 5x DuckDB on PostgreSQL: {verdict} ({ratio:.2f}x)")
            verdict = "met" if scan_s <= target else "MISSED"
            print(f"target whole scan <= {target:.0f} s on {backend}: {verdict} ({scan_s:.2f} s)")


if __name__ == "__main__":
    main()
