"""`hub catalogue`: validate the YAML catalogue and load it into the database."""

from __future__ import annotations

from pathlib import Path

import typer

from hub.catalogue import service
from hub.commands.common import console, fail, in_transaction, run, settings
from schemas.catalogue import CatalogueError, load_catalogue

app = typer.Typer(help="The programme catalogue (schemas/catalogue/*.yaml).")


def _load(directory: Path | None):  # type: ignore[no-untyped-def]
    try:
        return load_catalogue(directory)
    except CatalogueError as exc:
        raise fail(str(exc)) from None


@app.command()
def check(
    directory: Path | None = typer.Option(None, help="Catalogue folder to validate."),
) -> None:
    """Validate every catalogue file; names the file and entry of the first problem."""
    catalogue = _load(directory)
    console.print(
        f"catalogue valid: {len(catalogue.programmes)} programmes, "
        f"{len(catalogue.duplicate_rules)} duplicate rules, hash {catalogue.hash[:16]}…"
    )


@app.command()
def load() -> None:
    """Upsert the shipped catalogue's organisations and programmes into the database."""
    catalogue = _load(settings().catalogue_dir)
    count = run(in_transaction(lambda s: service.sync(s, catalogue)))
    console.print(f"{count} programmes loaded (hash {catalogue.hash[:16]}…)")
