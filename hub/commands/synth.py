"""`hub synth`: write a synthetic population as every source's native file (demo, tests,
benchmarks), with a manifest of the planted cases and bad rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.registry import MappingError, load_mappings
from connectors.synthetic import Manifest, generate, planned_files
from hub.commands.common import console, fail, settings
from schemas.catalogue import CatalogueError, load_catalogue


def _summary(manifest: Manifest, output: Path) -> Table:
    bad = Counter(b.file for b in manifest.bad_rows)
    table = Table(
        title=f"{manifest.persons:,} persons in {manifest.households:,} households → {output}"
    )
    for heading in ("source", "file", "format", "rows", "planted bad rows"):
        table.add_column(heading, justify="right" if heading.endswith("rows") else "left")
    for f in manifest.files:
        kind = f"{f.format} {f.encoding}" if f.encoding else f.format
        table.add_row(f.source, f.file, kind, f"{f.rows:,}", f"{bad[f.file]:,}")
    total = sum(f.rows for f in manifest.files)
    table.add_section()
    table.add_row("total", "", "", f"{total:,}", f"{len(manifest.bad_rows):,}")
    return table


def synth(
    persons: int = typer.Option(20_000, min=1, help="Persons in the population."),
    seed: int = typer.Option(2012, help="Random seed: the same seed gives the same files."),
    output: Path = typer.Option(Path("var/synthetic"), file_okay=False, help="Output folder."),
) -> None:
    """Write every source's native file for a seeded synthetic population, and manifest.json."""
    current = settings()
    try:
        catalogue = load_catalogue(current.catalogue_dir)
        mappings = load_mappings(catalogue, current.mapping_dirs)
    except (CatalogueError, MappingError) as exc:
        raise fail(str(exc)) from None
    files = planned_files(mappings, catalogue)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[file]} {task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("files", total=len(files), file="", rows=0)

        def advance(file: str, rows: int, done: bool) -> None:
            progress.update(task, advance=1 if done else 0, file=file, rows=rows)

        manifest = generate(
            output,
            persons=persons,
            seed=seed,
            mappings=mappings,
            catalogue=catalogue,
            progress=advance,
        )
    console.print(_summary(manifest, output))
    planted = sum(len(pairs) for pairs in manifest.planted_duplicates.values())
    console.print(
        f"planted: {planted} duplicate pairs over {len(manifest.planted_duplicates)} rules, "
        f"{sum(len(p) for p in manifest.planted_adjacent.values())} adjacent pairs, "
        f"{len(manifest.planted_events)} civil-status events; manifest {output / 'manifest.json'}"
    )
