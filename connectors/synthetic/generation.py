"""Writing one synthetic population as every source's native file, plus manifest.json.

Each file is streamed to the writers row by row (nothing holds a file in memory); every source
draws from its own seeded random streams and numbers its own records, so the sources are
written independently: in parallel worker processes where the platform forks (they share the
plan copy-on-write), and the result does not depend on the order or the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from connectors.formats import FixedWidthFormat, XlsxFormat
from connectors.mapping import FieldMap, Mapping, RecordKind
from connectors.synthetic import damage as damage_
from connectors.synthetic import rows as rows_
from connectors.synthetic.entitlements import assign, mask_of
from connectors.synthetic.facts import PRODUCED
from connectors.synthetic.manifest import BadRow, Manifest, PlantedEvent, RecordRef, SourceFile
from connectors.synthetic.periods import SHAPES
from connectors.synthetic.planting import Planter
from connectors.synthetic.population import build_population, seeded
from connectors.synthetic.rendering import Canonical, Native, Renderer, record_id_format
from schemas.catalogue import Catalogue, load_catalogue
from schemas.organisation import OrganisationKind

EXTENSIONS = {
    "csv": "csv",
    "fixed_width": "txt",
    "xml": "xml",
    "jsonl": "jsonl",
    "json": "json",
    "xlsx": "xlsx",
}
Progress = Callable[[str, int, bool], None]
"""Called with a file name, the rows written to it so far, and whether the file is complete
(from worker processes only the completion is reported)."""
Writer = Callable[[Path, object, tuple[str, ...], Iterable[Native]], int]
_BIG_FIRST = ("mohw", "nhis", "mohw-eligibility")
"""The largest sources start first, so parallel workers finish together."""


@dataclass
class _Written:
    """What writing one source gave, for the manifest."""

    files: list[SourceFile] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    planted: dict[tuple[str, str, int, str], RecordRef] = field(default_factory=dict)
    events: list[PlantedEvent] = field(default_factory=list)


def generate(
    directory: Path,
    *,
    persons: int,
    seed: int = 2012,
    today: date = date(2026, 11, 1),
    mappings: dict[str, Mapping],
    progress: Progress | None = None,
    catalogue: Catalogue | None = None,
    writer: Writer | None = None,
    workers: int | None = None,
) -> Manifest:
    """Write every source's native file for one seeded population into `directory`, with
    manifest.json, and return the manifest. Same arguments, byte-identical files.

    `catalogue` defaults to the shipped one; `writer` to the format writers (tests may pass
    another with the same signature); `workers` to the CPUs available (at most 4; 1 writes in
    this process)."""
    directory.mkdir(parents=True, exist_ok=True)
    catalogue = catalogue or load_catalogue()
    plan = _plan(persons, seed, today, mappings, catalogue)
    writer = writer or _reproducible(today)
    order = sorted(mappings, key=_size_rank)
    if workers is None:
        workers = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    if threading.active_count() > 1:
        # Forking a process that runs other threads (a server, a database driver) can leave a
        # child waiting forever on a lock one of those threads held: write in this process.
        workers = 1
    written: dict[str, _Written] = {}
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        # Forked workers inherit the plan (and the writer, a closure) instead of unpickling it.
        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_adopt,
            initargs=(plan, mappings, directory, writer),
        ) as pool:
            futures = {source: pool.submit(_write_adopted, source) for source in order}
            for source in order:
                written[source] = futures[source].result()
                if progress is not None:
                    for entry in written[source].files:
                        progress(entry.file, entry.rows, True)
    else:
        for source in order:
            written[source] = _write_source(plan, mappings[source], directory, writer, progress)
    return _manifest(plan, seed, today, directory, [written[s] for s in sorted(mappings)])


def _size_rank(source: str) -> tuple[int, str]:
    return (_BIG_FIRST.index(source) if source in _BIG_FIRST else len(_BIG_FIRST), source)


_ADOPTED: dict[str, object] = {}
"""In a worker process: the plan and the rest of what `_adopt` was given."""


def _adopt(plan: rows_.Plan, mappings: dict[str, Mapping], directory: Path, writer: Writer) -> None:
    _ADOPTED.update(plan=plan, mappings=mappings, directory=directory, writer=writer)


def _write_adopted(source: str) -> _Written:
    mappings: dict[str, Mapping] = _ADOPTED["mappings"]  # type: ignore[assignment]
    return _write_source(
        _ADOPTED["plan"],  # type: ignore[arg-type]
        mappings[source],
        _ADOPTED["directory"],  # type: ignore[arg-type]
        _ADOPTED["writer"],  # type: ignore[arg-type]
        None,
    )


def _plan(
    persons: int, seed: int, today: date, mappings: dict[str, Mapping], catalogue: Catalogue
) -> rows_.Plan:
    pop = build_population(persons, seed, today)
    programme_source, attribute_source, event_source = _assign_sources(mappings, catalogue)
    planter = Planter(pop, programme_source)
    planter.plant_rules(catalogue.duplicate_rules)  # reserves the subjects' households
    named = {side.programme for r in catalogue.duplicate_rules for side in (r.a, r.b)}
    masks = assign(pop, mask_of(named))
    planter.plant_events(masks)
    return rows_.Plan(
        pop, masks, catalogue, planter, programme_source, attribute_source, event_source
    )


def _manifest(
    plan: rows_.Plan, seed: int, today: date, directory: Path, written: list[_Written]
) -> Manifest:
    planted: dict[tuple[str, str, int, str], RecordRef] = {}
    for part in written:
        planted.update(part.planted)

    def pairs(kind: str) -> dict[str, list[tuple[RecordRef, RecordRef]]]:
        found: dict[str, list[tuple[RecordRef, RecordRef]]] = {}
        for rule in plan.catalogue.duplicate_rules:
            for case in range(5):
                a = planted.get((rule.id, kind, case, "a"))
                b = planted.get((rule.id, kind, case, "b"))
                if a and b:
                    found.setdefault(rule.id, []).append((a, b))
        return found

    manifest = Manifest(
        seed=seed,
        persons=plan.pop.size,
        households=plan.pop.households,
        today=today,
        files=[f for part in written for f in part.files],
        planted_duplicates=pairs("duplicate"),
        planted_adjacent=pairs("adjacent"),
        planted_events=[e for part in written for e in part.events],
        bad_rows=[b for part in written for b in part.bad_rows],
    )
    manifest.save(directory / "manifest.json")
    return manifest


def _values(field_map: FieldMap | None) -> list[str]:
    if field_map is None:
        return []
    if field_map.value is not None:
        return [field_map.value]
    return list((field_map.codes or {}).values())


def _assign_sources(
    mappings: dict[str, Mapping], catalogue: Catalogue
) -> tuple[dict[str, str], dict[str, str], str | None]:
    """Which source reports each programme, attribute and the civil-status events (the first
    source, by id, that maps it and whose owners run it)."""
    programmes: dict[str, str] = {}
    attributes: dict[str, str] = {}
    events = None
    for source in sorted(mappings):
        mapping = mappings[source]
        if mapping.record is RecordKind.ENROLMENT:
            for code in _values(mapping.fields.get("programme")):
                programme = catalogue.programmes.get(code)
                runs = programme is not None and (
                    programme.ministry is None
                    or {programme.ministry, programme.operator} & set(mapping.owners)
                )
                if runs and code in SHAPES:
                    programmes.setdefault(code, source)
        elif mapping.record is RecordKind.ATTRIBUTE:
            for code in _values(mapping.fields.get("attribute")):
                if code in PRODUCED:
                    attributes.setdefault(code, source)
        elif events is None:
            events = source
    return programmes, attributes, events


def planned_files(mappings: dict[str, Mapping], catalogue: Catalogue) -> list[tuple[str, str]]:
    """(source, file name) of every file `generate` writes."""
    planned = []
    for source in sorted(mappings):
        mapping = mappings[source]
        senders = _senders(mapping, catalogue)
        for sender in senders:
            planned.append((source, _file_name(mapping, sender, len(senders) > 1)))
    return planned


def _file_name(mapping: Mapping, sender: str, several: bool) -> str:
    name = f"{mapping.source}.{sender.lower()}" if several else mapping.source
    return f"{name}.{EXTENSIONS[mapping.format.kind]}"


def _senders(mapping: Mapping, catalogue: Catalogue) -> list[str]:
    """Facilities each send their own export (a rule may compare facilities); otherwise the
    first owner sends the source's one file."""
    kinds = {catalogue.organisations[o].kind for o in mapping.owners}
    if kinds == {OrganisationKind.WELFARE_CENTRE} and len(mapping.owners) > 1:
        return list(mapping.owners)
    return [mapping.owners[0]]


def _write_source(
    plan: rows_.Plan,
    mapping: Mapping,
    directory: Path,
    writer: Writer,
    progress: Progress | None,
) -> _Written:
    """Every file of one source; its records are numbered across its files."""
    counter = iter(range(1, 1 << 62))
    pattern = record_id_format(mapping.source)

    def new_id() -> str:
        return pattern.format(next(counter))

    senders = _senders(mapping, plan.catalogue)
    result = _Written()
    for sender in senders:
        facility = sender if len(senders) > 1 else None
        _write_file(plan, mapping, sender, facility, new_id, directory, writer, progress, result)
    return result


def _write_file(
    plan: rows_.Plan,
    mapping: Mapping,
    sender: str,
    facility: str | None,
    new_id: Callable[[], str],
    directory: Path,
    writer: Writer,
    progress: Progress | None,
    result: _Written,
) -> None:
    source, spec = mapping.source, mapping.format
    file = _file_name(mapping, sender, facility is not None)
    rng = seeded(plan.pop.seed, source, sender)
    renderer = Renderer(mapping, rng)
    key = "source_event_id" if mapping.record is RecordKind.STATUS_EVENT else "source_record_id"
    damage = damage_.Damage(renderer, seeded(plan.pop.seed, source, sender, "damage"), new_id, key)
    if mapping.record is RecordKind.ENROLMENT:
        good = rows_.enrolments(plan, mapping, facility, rng)
    elif mapping.record is RecordKind.ATTRIBUTE:
        good = rows_.attribute_facts(plan, mapping, rng)
    else:
        good = rows_.events(plan, mapping)

    def rendered() -> Iterator[tuple[Canonical, Native, bool]]:
        render = renderer.render
        for canonical, protected in good:
            canonical[key] = new_id()
            if "planted_key" in canonical:
                result.planted[canonical.pop("planted_key")] = (source, canonical[key])
            elif "planted_event" in canonical:
                event = canonical.pop("planted_event")
                result.events.append(
                    PlantedEvent(
                        source=source,
                        source_event_id=canonical[key],
                        type=event.type.value,
                        subject_has_enrolments=bool(plan.masks[event.person]),
                    )
                )
            yield canonical, render(canonical), protected

    stream = damage.stream(rendered())
    if progress is not None:
        stream = _counted(stream, file, progress)
    written = writer(directory / file, spec, renderer.columns, stream)
    assert written == damage.rows, f"{file}: the writer wrote {written} of {damage.rows} rows"
    if progress is not None:
        progress(file, written, True)
    result.bad_rows.extend(
        BadRow(source=source, file=file, row=b.row, field=b.field, kind=b.kind) for b in damage.bad
    )
    exact = sum(1 for b in damage.bad if b.kind == damage_.EXACT_DUPLICATE)
    result.files.append(
        SourceFile(
            source=source,
            organisation=sender,
            file=file,
            format=spec.kind,
            encoding=getattr(spec, "encoding", None),
            record=mapping.record.value,
            rows=written,
            accepted=written - len(damage.bad),
            rejected=len(damage.bad) - exact,
            unchanged=exact,
        )
    )


def _counted(rows: Iterator[Native], file: str, progress: Progress) -> Iterator[Native]:
    for number, row in enumerate(rows, start=1):
        if number % 10_000 == 0:
            progress(file, number, False)
        yield row


# -- reproducible bytes ----------------------------------------------------------------------


def _reproducible(today: date) -> Writer:
    """The format writers, made byte-for-byte reproducible: a fixed-width header is dated
    `today` rather than by the clock, and an Excel workbook's timestamps (its zip entries' and
    docProps/core.xml's) are set to `today`, midnight."""
    from connectors.writers import write
    from connectors.writers.fixed_width import write_fixed_width

    def writer(path: Path, spec: object, columns: tuple[str, ...], rows: Iterable[Native]) -> int:
        if isinstance(spec, FixedWidthFormat):
            return write_fixed_width(path, spec, columns, rows, created=today)
        written = write(path, spec, columns, rows)  # type: ignore[arg-type]
        if isinstance(spec, XlsxFormat):
            _restamp_zip(path, today)
        return written

    return writer


_W3CDTF = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _restamp_zip(path: Path, today: date) -> None:
    stamp = (today.year, today.month, today.day, 0, 0, 0)
    temporary = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            if info.filename == "docProps/core.xml":
                text = _W3CDTF.sub(f"{today.isoformat()}T00:00:00Z".encode(), source.read(info))
                target.writestr(entry, text)
                continue
            with source.open(info) as data, target.open(entry, "w") as out:
                shutil.copyfileobj(data, out, 1 << 20)
    temporary.replace(path)
