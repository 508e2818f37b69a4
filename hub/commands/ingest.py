"""`hub ingest SOURCE FILE`: apply a source's native file, with progress and a summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.mapping import Mapping
from connectors.registry import MappingError, load_mappings
from hub.commands.common import console, fail, run, settings
from hub.database import Database
from hub.ingest import service
from hub.kit.errors import HubError
from hub.vault import KeySet, KeySetError
from schemas.catalogue import Catalogue, CatalogueError, load_catalogue

COUNTS = ("rows", "inserted", "updated", "unchanged", "rejected")


def _summary(report: service.Report) -> Table:
    batch = report.batch
    table = Table(title=f"batch {batch.id} · {batch.source} · {batch.organisation}")
    for name in COUNTS:
        table.add_column(name, justify="right")
    table.add_row(*(str(getattr(batch, n)) for n in COUNTS))
    return table


def _rejections(report: service.Report) -> Table:
    table = Table("row", "where", "field", "reason", title="rejected rows (first 100)")
    for r in report.first_rejections:
        table.add_row(str(r.row), r.location, r.field, r.reason)
    return table


def ingest_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=console,
    )


async def ingest_path(
    db: Database,
    keyset: KeySet,
    catalogue: Catalogue,
    mapping: Mapping,
    organisation: str,
    path: Path,
    progress: Progress,
    catalogue_dir: Path | None = None,
) -> service.Report:
    """Ingest one file with a progress bar (bytes read; XLSX shows rows only)."""
    size = path.stat().st_size  # noqa: ASYNC240 (one stat before the work)
    task = progress.add_task(path.name, total=size, rows=0)
    with path.open("rb") as stream:

        def advance(rows: int, position: int | None) -> None:
            if position is None:  # mapped in this process: the stream is where the reader is
                position = stream.tell() if mapping.format.kind != "xlsx" else 0
            progress.update(task, completed=position, rows=rows)

        report = await service.ingest_file(
            db,
            keyset=keyset,
            catalogue=catalogue,
            mapping=mapping,
            organisation=organisation,
            stream=stream,
            on_progress=advance,
            path=path,
            catalogue_dir=catalogue_dir,
        )
    progress.update(task, completed=size, rows=report.batch.rows)
    return report


def ingest(
    source: str = typer.Argument(..., help="Source id, e.g. mohw, kfs, mois-rrs."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    organisation: str | None = typer.Option(
        None, help="Sending organisation (needed when a source has several owners)."
    ),
    strict: bool = typer.Option(False, help="Exit with status 3 if any row was rejected."),
) -> None:
    """Ingest one native file; rejected rows are listed, a broken file applies nothing."""
    current = settings()
    try:
        catalogue = load_catalogue(current.catalogue_dir)
        mappings = load_mappings(catalogue, current.mapping_dirs)
        keyset = KeySet.load(current.keys_path)
    except (CatalogueError, MappingError, KeySetError, OSError) as exc:
        raise fail(str(exc)) from None
    mapping = mappings.get(source)
    if mapping is None:
        raise fail(f"unknown source {source}; known: {', '.join(sorted(mappings))}")
    if organisation is None:
        if len(mapping.owners) > 1:
            raise fail(
                f"{source} has several owners; pass --organisation ({', '.join(mapping.owners)})"
            )
        organisation = mapping.owners[0]
    try:
        mapping = service.source_for(mappings, source, organisation)
    except HubError as exc:
        raise fail(str(exc)) from None

    async def work() -> service.Report:
        db = Database(current.database)
        try:
            with ingest_progress() as progress:
                return await ingest_path(
                    db,
                    keyset,
                    catalogue,
                    mapping,
                    organisation,
                    file,
                    progress,
                    current.catalogue_dir,
                )
        finally:
            await db.dispose()

    report = run(work())
    console.print(_summary(report))
    if report.first_rejections:
        console.print(_rejections(report))
    if strict and report.batch.rejected:
        raise typer.Exit(3)
