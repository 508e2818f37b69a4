"""The synthetic population: files read back through the real readers and mapper, planted
cases that mean what the manifest says, bad rows that fail as labelled, reproducibility."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from connectors.mapper import Mapped, Mapper, Rejection, Staged
from connectors.mapping import Mapping
from connectors.readers import read
from connectors.registry import load_mappings
from connectors.synthetic import Manifest, generate
from connectors.synthetic.population import BLS, DISABLED, SEVERE, build_population
from hub.commands.synth import synth
from schemas.catalogue import Catalogue, load_catalogue
from schemas.duplicate_rule import DuplicateRule, RuleScope
from schemas.enrolment import EnrolmentRecord
from schemas.event import StatusEventRecord, StatusEventType
from schemas.identifiers import RRN_PATTERN

PERSONS = 2_000
TODAY = date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


@dataclass
class ReadBack:
    """Every file as the hub would see it on a first ingest."""

    outcomes: dict[tuple[str, int], str] = field(default_factory=dict)
    """(file, row) -> accepted | rejected | unchanged."""
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    records: dict[tuple[str, str], Mapped] = field(default_factory=dict)
    """(source, record id) -> the accepted row."""


@dataclass
class Run:
    directory: Path
    manifest: Manifest
    mappings: dict[str, Mapping]
    catalogue: Catalogue
    back: ReadBack


def read_back(directory: Path, manifest: Manifest, mappings: dict[str, Mapping],
              catalogue: Catalogue) -> ReadBack:  # fmt: skip
    back = ReadBack()
    for entry in manifest.files:
        mapping = mappings[entry.source]
        mapper = Mapper(mapping, catalogue, entry.organisation, now=NOW)
        fingerprints: dict[str, str] = {}
        with (directory / entry.file).open("rb") as stream:
            for raw in read(stream, mapping.format, required=mapping.required_columns):
                mapped = mapper.map(raw)
                if isinstance(mapped, Rejection):
                    outcome = "rejected"
                elif mapped.key not in fingerprints:
                    fingerprints[mapped.key] = mapped.fingerprint
                    back.records[(entry.source, mapped.key)] = mapped
                    outcome = "accepted"
                elif fingerprints[mapped.key] == mapped.fingerprint:
                    outcome = "unchanged"
                else:
                    outcome = "rejected"  # the same id with different content
                back.outcomes[(entry.file, raw.number)] = outcome
                back.counts[entry.file][outcome] += 1
    return back


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("synthetic")
    catalogue = load_catalogue()
    mappings = load_mappings(catalogue)
    manifest = generate(directory, persons=PERSONS, today=TODAY, mappings=mappings)
    return Run(directory, manifest, mappings, catalogue,
               read_back(directory, manifest, mappings, catalogue))  # fmt: skip


# -- files and manifest ------------------------------------------------------------------------


def test_one_file_per_source_and_the_manifest(run: Run) -> None:
    files = {f.file for f in run.manifest.files}
    assert {f.source for f in run.manifest.files} == set(run.mappings)
    assert {p.name for p in run.directory.iterdir()} == files | {"manifest.json"}
    assert Manifest.load(run.directory / "manifest.json") == run.manifest
    assert run.manifest.persons == PERSONS
    ssis = run.manifest.files_of("ssis")  # each welfare centre sends its own export
    assert sorted(f.organisation for f in ssis) == ["WC-ARA", "WC-NOWON", "WC-NOWON-2"]


def test_the_manifest_holds_no_personal_data(run: Run) -> None:
    text = (run.directory / "manifest.json").read_text(encoding="utf-8")
    assert not RRN_PATTERN.search(text)
    assert not re.search(r"[가-힣]", text)  # no name (nor any other Korean text)
    names = {m.person.name for m in run.back.records.values()}
    assert names
    assert not any(name in text for name in names)


def test_same_seed_same_bytes_other_seed_other_files(run: Run, tmp_path: Path) -> None:
    # Forked worker processes write the files in parallel, but only in a process without other
    # threads (this test session has some), so that path runs in a fresh interpreter here.
    script = (
        "import sys; from datetime import date; from pathlib import Path;"
        "from connectors.registry import load_mappings; from connectors.synthetic import generate;"
        "from schemas.catalogue import load_catalogue;"
        f"generate(Path(sys.argv[1]), persons={PERSONS}, today=date.fromisoformat('{TODAY}'),"
        " mappings=load_mappings(load_catalogue()), workers=2)"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "again")],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=300,
    )
    again = Manifest.load(tmp_path / "again" / "manifest.json")
    assert again == run.manifest
    for entry in [*run.manifest.files, None]:
        name = entry.file if entry else "manifest.json"
        assert (tmp_path / "again" / name).read_bytes() == (run.directory / name).read_bytes(), name
    other = generate(
        tmp_path / "other", persons=PERSONS, seed=7, today=TODAY, mappings=run.mappings
    )
    for entry in other.files:
        assert (tmp_path / "other" / entry.file).read_bytes() != (
            run.directory / entry.file
        ).read_bytes(), entry.file


# -- rows read back ----------------------------------------------------------------------------


def test_first_ingest_gives_what_the_manifest_expects(run: Run) -> None:
    bad = {(b.file, b.row): b for b in run.manifest.bad_rows}
    for entry in run.manifest.files:
        counts = run.back.counts[entry.file]
        assert sum(counts.values()) == entry.rows, entry.file
        assert (counts["accepted"], counts["rejected"], counts["unchanged"]) == (
            entry.accepted,
            entry.rejected,
            entry.unchanged,
        ), entry.file
    for (file, row), outcome in run.back.outcomes.items():
        label = bad.get((file, row))
        if label is None:
            assert outcome == "accepted", (file, row)
        else:
            wanted = "unchanged" if label.kind == "exact_duplicate" else "rejected"
            assert outcome == wanted, (file, row, label.kind)


def test_about_one_percent_bad_rows_of_many_kinds(run: Run) -> None:
    kinds = Counter(b.kind for b in run.manifest.bad_rows)
    assert len(kinds) >= 7, kinds
    assert {"invalid_rrn_format", "invalid_rrn_birth_date", "impossible_date", "end_before_start",
            "unknown_code", "missing_required", "negative_amount", "unknown_status",
            "conflicting_repeat", "exact_duplicate"} <= set(kinds)  # fmt: skip
    for source in run.mappings:
        rows = run.manifest.rows_of(source)
        bad = sum(1 for b in run.manifest.bad_rows if b.source == source)
        assert bad >= 1, source
        if rows >= 100:
            assert 0.005 <= bad / rows <= 0.02, (source, bad, rows)


def test_a_mapper_that_remembers_persons_answers_as_a_fresh_one(run: Run) -> None:
    """A mapper reuses a person it has validated for the next rows of the same person
    (`Mapper._person`), and `stage_all` runs each check over a whole chunk before the next.
    Every row of the synthetic files (persons listed together, about 1% bad rows of many
    kinds) must map exactly as a mapper that has seen no other row maps it, whether staged
    alone or in chunks (of an odd size, so chunks start mid-person)."""
    remembered = 0
    for entry in run.manifest.files:
        mapping = run.mappings[entry.source]
        shared = Mapper(mapping, run.catalogue, entry.organisation, now=NOW)
        chunked = Mapper(mapping, run.catalogue, entry.organisation, now=NOW)
        with (run.directory / entry.file).open("rb") as stream:
            raws = list(read(stream, mapping.format, required=mapping.required_columns))
        alone = []
        for raw in raws:
            fresh = Mapper(mapping, run.catalogue, entry.organisation, now=NOW)
            known = len(shared._people)
            mapped = fresh.map(raw)
            assert shared.map(raw) == mapped
            alone.append(fresh.stage(raw))
            assert shared.stage(raw) == alone[-1]
            assert _flat(mapped) == _flat(alone[-1])  # the model and the bulk checks agree
            remembered += len(shared._people) == known
        staged = [
            item for i in range(0, len(raws), 97) for item in chunked.stage_all(raws[i : i + 97])
        ]
        assert staged == alone, entry.file
    assert remembered > 1000  # the reuse was exercised, not only the first sight


def _flat(outcome: Mapped | Staged | Rejection) -> tuple[object, ...]:
    """What the store takes of an accepted row, or the rejection."""
    if isinstance(outcome, Rejection):
        return (outcome,)
    if isinstance(outcome, Staged):
        return (*outcome[2:10], outcome.record)
    person = outcome.person
    return (
        outcome.rrn.canonical(),
        person.name,
        person.birth_date,
        person.sex,
        person.region_code,
        person.household_id,
        outcome.key,
        outcome.fingerprint,
        outcome.record.model_dump(),
    )


def test_a_sender_code_the_person_model_refuses_rejects_every_row(run: Run) -> None:
    """`PersonRecord` checks its source; the bulk checks check the sender once, with the
    same outcome for every row."""
    entry = run.manifest.files[0]
    mapping = run.mappings[entry.source]
    mapper = Mapper(mapping, run.catalogue, "not a code", now=NOW)
    with (run.directory / entry.file).open("rb") as stream:
        raws = list(read(stream, mapping.format, required=mapping.required_columns))[:50]
    staged = mapper.stage_all(raws)
    assert staged == [mapper.map(raw) for raw in raws]
    assert {(r.field, r.reason) for r in staged if isinstance(r, Rejection)} >= {
        ("source", "String should match pattern '^[A-Z][A-Z0-9-]{1,31}$'")
    }
    assert not any(isinstance(r, Staged) for r in staged)


def test_rrns_are_valid_and_one_per_person(run: Run) -> None:
    people: dict[str, set[str]] = defaultdict(set)
    households: dict[str, set[str]] = defaultdict(set)
    for mapped in run.back.records.values():  # every accepted row passed parse_rrn
        people[mapped.rrn.canonical()].add(mapped.person.name)
        if mapped.person.household_id is not None:
            households[mapped.rrn.canonical()].add(mapped.person.household_id)
    assert all(len(names) == 1 for names in people.values())
    assert all(len(ids) == 1 for ids in households.values())
    assert PERSONS * 0.9 <= len(people) <= PERSONS
    births = Counter(m.rrn.birth_date < date(2020, 10, 1) for m in run.back.records.values())
    assert births[True]
    assert births[False]
    assert all(
        m.rrn.check_digit_valid
        for m in run.back.records.values()
        if m.rrn.birth_date < date(2020, 10, 1)
    )


def test_names_and_texts_are_hangul(run: Run) -> None:
    names = {m.person.name for m in run.back.records.values()}
    assert all(re.fullmatch(r"[가-힣]{2,4}", name) for name in names)
    regions = {m.person.region_code for m in run.back.records.values()}
    assert {"11350", "50110", "5011011700"} <= regions


# -- planted duplicates ------------------------------------------------------------------------


def _month(day: date) -> int:
    return day.year * 12 + day.month


def overlaps(rule: DuplicateRule, a: EnrolmentRecord, b: EnrolmentRecord) -> bool:
    """The rule's overlap semantics (duplicate_rules.yaml), open ends as far future."""
    far = date.max
    a_end, b_end = a.period_end or far, b.period_end or far
    if rule.overlap.kind == "any_day":
        return a.period_start <= b_end and b.period_start <= a_end
    if rule.overlap.kind == "same_month":
        return _month(a.period_start) <= _month(b_end) and _month(b.period_start) <= _month(a_end)
    gap = max((b.period_start - a_end).days, (a.period_start - b_end).days)
    return gap <= rule.overlap.days


def _matches(rule: DuplicateRule, a: Mapped, b: Mapped) -> bool:
    ra, rb = a.record, b.record
    assert isinstance(ra, EnrolmentRecord)
    assert isinstance(rb, EnrolmentRecord)
    if (ra.programme, rb.programme) != (rule.a.programme, rule.b.programme):
        return False
    if rule.scope is RuleScope.PERSON:
        same = a.rrn.canonical() == b.rrn.canonical()
    else:
        same = a.person.household_id is not None and a.person.household_id == b.person.household_id
    if rule.distinct_sources and ra.source == rb.source:
        return False
    return same and overlaps(rule, ra, rb)


def test_every_rule_has_planted_duplicates_and_adjacent_cases(run: Run) -> None:
    for rule in run.catalogue.duplicate_rules:
        assert len(run.manifest.planted_duplicates.get(rule.id, [])) >= 3, rule.id
        assert len(run.manifest.planted_adjacent.get(rule.id, [])) >= 2, rule.id


def test_planted_pairs_overlap_and_adjacent_pairs_do_not(run: Run) -> None:
    rules = {r.id: r for r in run.catalogue.duplicate_rules}
    for planted, expected in ((run.manifest.planted_duplicates, True),
                              (run.manifest.planted_adjacent, False)):  # fmt: skip
        for rule_id, pairs in planted.items():
            rule = rules[rule_id]
            for a_ref, b_ref in pairs:
                a, b = run.back.records[tuple(a_ref)], run.back.records[tuple(b_ref)]
                for side in (a, b):
                    assert isinstance(side.record, EnrolmentRecord)
                    assert rule.in_force(side.record.period_start) or rule.in_force(
                        side.record.period_end or TODAY
                    ), (rule_id, a_ref)
                if rule.scope is RuleScope.HOUSEHOLD:
                    assert a.person.household_id == b.person.household_id
                else:
                    assert a.rrn.canonical() == b.rrn.canonical()
                if rule.distinct_sources:
                    assert a.record.source != b.record.source  # type: ignore[union-attr]
                assert overlaps(rule, a.record, b.record) is expected, (rule_id, a_ref, b_ref)  # type: ignore[arg-type]


def test_the_planted_duplicates_are_the_only_ones(run: Run) -> None:
    """The natural population never breaks a rule: the manifest lists every finding."""
    by_programme: dict[str, list[Mapped]] = defaultdict(list)
    for mapped in run.back.records.values():
        if isinstance(mapped.record, EnrolmentRecord):
            by_programme[mapped.record.programme].append(mapped)
    for rule in run.catalogue.duplicate_rules:
        assert rule.a.programme
        assert rule.b.programme
        found = set()
        for a in by_programme[rule.a.programme]:
            for b in by_programme[rule.b.programme]:
                if a is not b and _matches(rule, a, b):
                    found.add(frozenset({(a.record.source, a.key), (b.record.source, b.key)}))
        ids = {
            (m.record.source, m.key): (source, key) for (source, key), m in run.back.records.items()
        }
        found_refs = {frozenset(ids[r] for r in pair) for pair in found}
        planted = {frozenset(map(tuple, pair)) for pair in run.manifest.planted_duplicates[rule.id]}
        assert found_refs == planted, rule.id


# -- civil-status events -----------------------------------------------------------------------


def test_deaths_deregistrations_and_moves(run: Run) -> None:
    events = run.manifest.planted_events
    types = Counter(e.type for e in events)
    assert all(types[t.value] >= 5 for t in (
        StatusEventType.PERSON_DIED, StatusEventType.PERSON_DEREGISTERED,
        StatusEventType.PERSON_ADDRESS_CHANGED))  # fmt: skip
    enrolled = [e for e in events if e.subject_has_enrolments]
    assert len(enrolled) >= PERSONS * 0.01
    enrolled_people = {
        m.rrn.canonical()
        for m in run.back.records.values()
        if isinstance(m.record, EnrolmentRecord)
    }
    for event in events:
        mapped = run.back.records[(event.source, event.source_event_id)]
        record = mapped.record
        assert isinstance(record, StatusEventRecord)
        assert record.type.value == event.type
        assert record.effective_date < TODAY
        assert (mapped.rrn.canonical() in enrolled_people) is event.subject_has_enrolments
        if record.type is StatusEventType.PERSON_ADDRESS_CHANGED:
            assert record.details["new_region_code"][:5] != mapped.person.region_code[:5]


# -- the population ----------------------------------------------------------------------------


def test_the_population_looks_like_korea() -> None:
    pop = build_population(20_000, 2012, TODAY)
    ages = Counter(min(pop.age(p) // 20, 4) for p in range(pop.size))
    children, elderly = ages[0] / pop.size, sum(1 for p in range(pop.size) if pop.age(p) >= 65)
    assert 0.12 <= children <= 0.25
    assert 0.12 <= elderly / pop.size <= 0.25
    sizes = Counter(len(pop.members(h)) for h in range(pop.households))
    assert set(sizes) <= set(range(1, 7))
    assert sizes[1] > sizes[4]
    recipients = sum(1 for p in range(pop.size) if pop.household_flags[pop.household[p]] & BLS)
    assert 0.03 <= recipients / pop.size <= 0.06
    disabled = [p for p in range(pop.size) if pop.person_flags[p] & DISABLED]
    assert 0.03 <= len(disabled) / pop.size <= 0.07
    assert 0.25 <= sum(1 for p in disabled if pop.person_flags[p] & SEVERE) / len(disabled) <= 0.5
    assert pop.household_id(0) == "H000001"


# -- hub synth ---------------------------------------------------------------------------------


def test_hub_synth_writes_the_files_and_prints_a_summary(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(synth)
    app.command("noop")(lambda: None)  # two commands: `synth` is then named on the line
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["synth", "--persons", "400", "--output", str(out)])
    assert result.exit_code == 0, result.output
    manifest = Manifest.load(out / "manifest.json")
    assert manifest.persons == 400
    assert "mohw" in result.output
    assert "planted bad" in result.output
