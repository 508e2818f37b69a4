"""`hub serve` and `hub openapi`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
import uvicorn

from hub import migrations
from hub.commands.common import console, fail, settings
from schemas.catalogue import CatalogueError, load_catalogue

OPENAPI_PATH = Path("openapi/hub.v1.json")


def ensure_ready() -> None:
    """Refuse to serve a database that is not migrated or a missing key set, with the fix."""
    current = settings()
    try:
        load_catalogue(current.catalogue_dir)
    except CatalogueError as exc:
        raise fail(f"the catalogue is broken: {exc}") from None
    if not current.keys_path.exists():
        raise fail(f"no key set at {current.keys_path}; run `hub keys init` (or `hub demo`)")
    revision = migrations.current(current.database)
    if revision not in migrations.heads():
        raise fail(
            f"the database is at revision {revision or '(empty)'}, the code needs "
            f"{', '.join(migrations.heads())}; run `hub db upgrade`"
        )


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
) -> None:
    """Serve the API (database from HUB_DATABASE_URL, keys from HUB_KEYS_FILE)."""
    ensure_ready()
    uvicorn.run(
        "hub.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
    )


def render_openapi() -> str:
    from hub.main import create_app

    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


def openapi(
    output: Path = typer.Option(OPENAPI_PATH, help="Where to write the document."),
    check: bool = typer.Option(False, help="Only compare; exit 1 if the file is stale."),
) -> None:
    """Write the OpenAPI document of the API (the committed contract)."""
    document = render_openapi()
    if check:
        if not output.exists() or output.read_text(encoding="utf-8") != document:
            raise fail(f"{output} is stale; run `hub openapi`")
        console.print(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document, encoding="utf-8")
    console.print(f"wrote {output}")
