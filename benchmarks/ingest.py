"""Ingestion benchmark: the synthetic sources (~1,000,000 enrolment rows) through the hub's
pipeline into PostgreSQL and SQLite, beside the floor: the same native files read with the
standard library and bulk-inserted as raw text (COPY on PostgreSQL) with no validation,
encryption or person resolution.

    .venv/bin/python benchmarks/ingest.py                      # 1,000,000 rows, both backends
    .venv/bin/python benchmarks/ingest.py --enrolments 100000 --backends sqlite
    .venv/bin/python benchmarks/ingest.py --lanes mohw.csv     # one file: CPU by process

Each measurement runs in a child process of its own. Peak memory is the largest resident memory
of that process and every process under it (the mapping processes) at one moment, sampled.
Targets (issue 3): >= 25,000 rows/s on PostgreSQL, >= 0.2 of the floor, peak memory < 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# -- data ------------------------------------------------------------------------------------


def generate(directory: Path, enrolments: int, seed: int) -> dict:
    """Synthetic files with about `enrolments` enrolment rows (calibrated on a small run)."""
    from connectors.registry import load_mappings
    from connectors.synthetic import generate as synth
    from schemas.catalogue import load_catalogue

    catalogue = load_catalogue()
    mappings = load_mappings(catalogue)
    manifest_path = directory / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("benchmark_target") == enrolments and manifest["seed"] == seed:
            return manifest
    with tempfile.TemporaryDirectory() as tmp:
        probe = synth(Path(tmp), persons=2000, seed=seed, mappings=mappings, catalogue=catalogue)
    per_person = sum(f.rows for f in probe.files if f.record == "enrolment") / 2000
    persons = max(1000, round(enrolments / per_person))
    started = time.perf_counter()
    synth(directory, persons=persons, seed=seed, mappings=mappings, catalogue=catalogue)
    print(f"generated {persons:,} persons in {time.perf_counter() - started:.1f} s", flush=True)
    manifest = json.loads(manifest_path.read_text())
    manifest["benchmark_target"] = enrolments
    manifest_path.write_text(json.dumps(manifest))
    return manifest


def ordered(manifest: dict) -> list[dict]:
    """Enrolments and attributes first, registry events last (as a real day would run)."""
    return sorted(manifest["files"], key=lambda f: (f["record"] == "status_event", f["file"]))


# -- the hub's pipeline ------------------------------------------------------------------------


async def run_hub(
    url: str,
    data: Path,
    manifest: dict,
    only: str | None = None,
    before_files: Callable[[], None] | None = None,
) -> dict:
    import hub.models  # noqa: F401 (every table registered)
    from connectors.registry import load_mappings
    from hub import migrations
    from hub.catalogue import service as catalogue_service
    from hub.database import Database
    from hub.ingest.service import ingest_file
    from hub.kit.clock import utcnow
    from hub.vault import KeySet
    from schemas.catalogue import load_catalogue

    await asyncio.to_thread(migrations.upgrade, url)
    catalogue = load_catalogue()
    mappings = load_mappings(catalogue)
    keyset = KeySet.generate(utcnow())
    db = Database(url)
    await catalogue_service.sync_if_changed(db, catalogue)
    per_file = []
    entries = [e for e in ordered(manifest) if only is None or e["file"] == only]
    if not entries:
        raise SystemExit(f"{only} is not one of the benchmark's files")
    if before_files is not None:
        before_files()
    started = time.perf_counter()
    for entry in entries:
        t0 = time.perf_counter()
        with (data / entry["file"]).open("rb") as stream:
            report = await ingest_file(
                db,
                keyset=keyset,
                catalogue=catalogue,
                mapping=mappings[entry["source"]],
                organisation=entry["organisation"],
                stream=stream,
                path=data / entry["file"],  # as `hub ingest` does: large files map in a child
            )
        per_file.append(
            {
                "file": entry["file"],
                "rows": report.batch.rows,
                "rejected": report.batch.rejected,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    elapsed = time.perf_counter() - started
    await db.dispose()
    rows = sum(f["rows"] for f in per_file)
    return {"rows": rows, "seconds": elapsed, "files": per_file}


# -- the floor: standard library reading, raw bulk insert -----------------------------------


def floor_rows(path: Path, entry: dict, mapping) -> Iterator[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    spec = mapping.format
    if spec.kind == "csv":
        with path.open(encoding=spec.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=spec.delimiter, quotechar=spec.quotechar)
            next(reader)
            yield from (tuple(row) for row in reader)
    elif spec.kind == "fixed_width":
        with path.open("rb") as handle:
            for line in handle:
                record = line.rstrip(b"\r\n")
                rtype = spec.record_type
                if (
                    rtype
                    and record[rtype.start - 1 : rtype.start - 1 + rtype.width].decode()
                    != rtype.data
                ):
                    continue
                yield tuple(
                    record[c.start - 1 : c.start - 1 + c.width].decode(spec.encoding).strip()
                    for c in spec.columns
                )
    elif spec.kind == "xml":
        for _event, element in ET.iterparse(path):  # noqa: S314 (our own synthetic files)
            if element.tag == spec.record:
                yield tuple((child.text or "") for child in element)
                element.clear()
    elif spec.kind == "jsonl":
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield tuple(str(v) for v in json.loads(line).values())
    elif spec.kind == "json":
        document = json.loads(path.read_text(encoding="utf-8"))
        records = document[spec.records_key] if spec.records_key else document
        yield from (tuple(str(v) for v in record.values()) for record in records)
    else:  # xlsx: the standard library cannot read it; openpyxl's read-only mode is the floor
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        next(rows)
        yield from (tuple("" if v is None else str(v) for v in row) for row in rows)
        workbook.close()


WIDTH = 16


def _padded(row: tuple[str, ...], source: str) -> tuple[str, ...]:
    cells = (source, *row[: WIDTH - 1])
    return cells + ("",) * (WIDTH - len(cells))


async def run_floor_postgres(url: str, data: Path, manifest: dict) -> dict:
    import asyncpg

    from connectors.registry import load_mappings
    from schemas.catalogue import load_catalogue

    mappings = load_mappings(load_catalogue())
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    columns = [f"c{i}" for i in range(WIDTH)]
    await connection.execute(f"CREATE TABLE floor_rows ({', '.join(c + ' text' for c in columns)})")
    rows = 0
    started = time.perf_counter()
    for entry in ordered(manifest):
        batch: list[tuple[str, ...]] = []
        for row in floor_rows(data / entry["file"], entry, mappings[entry["source"]]):
            batch.append(_padded(row, entry["source"]))
            if len(batch) == 10_000:
                await connection.copy_records_to_table("floor_rows", records=batch, columns=columns)
                rows += len(batch)
                batch = []
        if batch:
            await connection.copy_records_to_table("floor_rows", records=batch, columns=columns)
            rows += len(batch)
    elapsed = time.perf_counter() - started
    await connection.close()
    return {"rows": rows, "seconds": elapsed}


def run_floor_sqlite(path: Path, data: Path, manifest: dict) -> dict:
    from connectors.registry import load_mappings
    from schemas.catalogue import load_catalogue

    mappings = load_mappings(load_catalogue())
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    columns = [f"c{i}" for i in range(WIDTH)]
    connection.execute(f"CREATE TABLE floor_rows ({', '.join(c + ' TEXT' for c in columns)})")
    insert = f"INSERT INTO floor_rows VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608
    rows = 0
    started = time.perf_counter()
    with connection:
        for entry in ordered(manifest):
            batch: list[tuple[str, ...]] = []
            for row in floor_rows(data / entry["file"], entry, mappings[entry["source"]]):
                batch.append(_padded(row, entry["source"]))
                if len(batch) == 10_000:
                    connection.executemany(insert, batch)
                    rows += len(batch)
                    batch = []
            connection.executemany(insert, batch)
            rows += len(batch)
    elapsed = time.perf_counter() - started
    connection.close()
    return {"rows": rows, "seconds": elapsed}


# -- orchestration ---------------------------------------------------------------------------


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _children(pid: int) -> list[int]:
    """The direct children of `pid`, from each of its threads' `children` file: a few reads,
    where scanning every process's /proc entry cost the measured process about a hundred."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def process_tree() -> set[int]:
    """This process and every process under it (the fork server, the mapping processes)."""
    tree, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        for child in _children(frontier.pop()):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


class TreeMemory(threading.Thread):
    """Samples the resident memory of this process and all its descendants (the mapping
    processes are grandchildren, forked by multiprocessing's fork server, so RUSAGE_CHILDREN
    does not see them) every 0.2 s; `peak` is the largest sum seen. Reads /proc (Linux)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self._stop_event = threading.Event()

    @staticmethod
    def _tree_rss() -> int:
        total = 0
        for pid in process_tree():
            try:
                with open(f"/proc/{pid}/statm") as handle:
                    total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except OSError:
                continue
        return total

    def run(self) -> None:
        while not self._stop_event.wait(0.2):
            self.peak = max(self.peak, self._tree_rss())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


class CpuByProcess(threading.Thread):
    """CPU time used while a file loads, by role: the loading process (the writer), the
    processes under it (the fork server and the mapping process) and PostgreSQL's processes.
    Samples every process's /proc stat file every 0.1 s and keeps each process's first and
    last reading, so a mapping process that has exited still counts. Meant for one file at a
    time (`--lanes`), where the two lanes of the pipeline (mapping; writing and PostgreSQL)
    show which one bounds the load (benchmarks/RESULTS.md)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self._stop_event = threading.Event()
        self._first: dict[int, tuple[str, float]] = {}
        self._last: dict[int, float] = {}
        self._tick = os.sysconf("SC_CLK_TCK")

    def _role(self, pid: int, ours: set[int]) -> str | None:
        if pid == os.getpid():
            return "writer"
        if pid in ours:
            return "mapping"
        try:
            with open(f"/proc/{pid}/comm") as handle:
                return "postgres" if handle.read().startswith("postgres") else None
        except OSError:
            return None

    def _sample(self) -> None:
        ours = process_tree()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used = (int(fields[11]) + int(fields[12])) / self._tick
            if pid not in self._first:
                role = self._role(pid, ours)
                if role is None:
                    continue
                self._first[pid] = (role, used)
            self._last[pid] = used

    def run(self) -> None:
        while not self._stop_event.wait(0.1):
            self._sample()

    def start(self) -> None:
        self._sample()  # the starting point of every process already running
        super().start()

    def stop(self) -> dict[str, float]:
        self._stop_event.set()
        self.join()
        self._sample()
        totals = {"mapping": 0.0, "writer": 0.0, "postgres": 0.0}
        for pid, (role, first) in self._first.items():
            totals[role] += self._last[pid] - first
        return totals


def _start_fork_server() -> None:
    """Start the mapping processes' fork server and let it finish its imports, by running one
    empty child through it."""
    from hub.ingest.mapping_process import _context

    child = _context().Process(target=os.getpid)
    child.start()
    child.join()


def lanes(data: Path, name: str) -> None:
    """Load one file into a fresh PostgreSQL database and print the CPU each role used."""
    manifest = json.loads((data / "manifest.json").read_text())
    database = f"hub_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    _start_fork_server()  # once per process: not the file's cost
    cpu = CpuByProcess()
    url = f"{base}/{database}"
    try:
        result = asyncio.run(run_hub(url, data, manifest, only=name, before_files=cpu.start))
    finally:
        totals = cpu.stop() if cpu.is_alive() else {}
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    (entry,) = result["files"]
    rows, seconds = entry["rows"], entry["seconds"]
    per_row = {role: used / rows * 1e6 for role, used in totals.items()}
    print(
        f"{name}: {rows:,} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s); "
        f"µs of CPU per row: mapping {per_row['mapping']:.0f}, writer {per_row['writer']:.0f}, "
        f"PostgreSQL {per_row['postgres']:.0f}, all {sum(per_row.values()):.0f}; "
        f"{sum(totals.values()) / result['seconds']:.2f} cores busy",
        flush=True,
    )


def worker(kind: str, backend: str, data: Path) -> None:
    """Run one measurement on a fresh database and print it as JSON (peak RSS included)."""
    manifest = json.loads((data / "manifest.json").read_text())
    name = f"hub_bench_{secrets.token_hex(4)}"
    memory = TreeMemory()
    memory.start()
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "postgres":
            asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
            base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            url = f"{base}/{name}"
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        try:
            if kind == "hub":
                result = asyncio.run(run_hub(url, data, manifest))
            elif backend == "postgres":
                result = asyncio.run(run_floor_postgres(url, data, manifest))
            else:
                result = run_floor_sqlite(Path(tmp) / "floor.db", data, manifest)
        finally:
            if backend == "postgres":
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    # The largest resident memory of the worker and every process under it at one moment.
    tree = memory.stop()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["peak_mb"] = max(tree, own) / (1 << 20)
    print(json.dumps(result))


def measure(kind: str, backend: str, data: Path) -> dict:
    output = subprocess.run(  # noqa: S603 (this very script)
        [sys.executable, __file__, "--worker", kind, "--backends", backend, "--data", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        raise SystemExit(f"{kind} on {backend} failed:\n{output.stderr[-4000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


BACKEND_NAMES = {"postgres": "postgres", "postgresql": "postgres", "sqlite": "sqlite"}
"""What `--backends` accepts. An unknown name used to run SQLite under that name."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrolments", type=int, default=1_000_000)
    parser.add_argument(
        "--backends",
        default="postgres,sqlite",
        help="comma-separated: postgres (or postgresql) and/or sqlite",
    )
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench-ingest")
    parser.add_argument("--worker", choices=["hub", "floor"])
    parser.add_argument(
        "--lanes",
        metavar="FILE",
        help="Load only this file of the set (e.g. mohw.csv) into PostgreSQL and print the CPU "
        "per row used by the mapping process, the writer and PostgreSQL.",
    )
    args = parser.parse_args()
    backends = [BACKEND_NAMES.get(name.strip()) for name in args.backends.split(",")]
    if not all(backends):
        parser.error(f"--backends takes {', '.join(BACKEND_NAMES)}, not {args.backends!r}")
    if args.worker:
        worker(args.worker, str(backends[0]), args.data)
        return
    manifest = generate(args.data, args.enrolments, args.seed)
    if args.lanes:
        lanes(args.data, args.lanes)
        return
    enrolment_rows = sum(f["rows"] for f in manifest["files"] if f["record"] == "enrolment")
    total_rows = sum(f["rows"] for f in manifest["files"])
    print(
        f"data: {manifest['persons']:,} persons, {enrolment_rows:,} enrolment rows, "
        f"{total_rows:,} rows in {len(manifest['files'])} files",
        flush=True,
    )
    print(f"{'backend':9} {'what':6} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
    for backend in map(str, backends):
        hub = measure("hub", backend, args.data)
        floor = measure("floor", backend, args.data)
        for what, result in (("hub", hub), ("floor", floor)):
            rate = result["rows"] / result["seconds"]
            result["rate"] = rate
            print(
                f"{backend:9} {what:6} {result['rows']:>10,} {result['seconds']:>8.1f} "
                f"{rate:>9,.0f} {result['peak_mb']:>8.0f}",
                flush=True,
            )
        print(f"{backend:9} ratio hub/floor: {hub['rate'] / floor['rate']:.3f}", flush=True)
        slowest = sorted(hub["files"], key=lambda f: f["seconds"], reverse=True)[:3]
        print(f"{backend:9} slowest files: {slowest}", flush=True)


if __name__ == "__main__":
    main()
