"""`hub demo`: everything a first-time user needs, on the embedded SQLite default.

Creates var/ with a key set and the database, loads the catalogue (which registers the demo
organisations), gives each organisation a client (credentials in var/demo-clients.json),
ingests a synthetic population from every source's native file (first run only), prints
copy-pasteable curl lines, and serves. Running it again reuses what exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import typer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.registry import load_mappings
from connectors.synthetic import Manifest, generate
from hub import migrations
from hub.auth import service as auth_service
from hub.auth.models import Client
from hub.catalogue import service as catalogue_service
from hub.commands.common import console, in_transaction, run, settings
from hub.commands.ingest import ingest_path, ingest_progress
from hub.commands.serve import serve
from hub.database import Database
from hub.ingest.models import IngestBatch
from hub.kit.clock import utcnow
from hub.organisations import service as organisations
from hub.settings import Settings
from hub.vault import KeySet
from schemas.catalogue import Catalogue, load_catalogue


@dataclass(frozen=True)
class DemoClient:
    organisation: str
    kind: str
    client_id: str
    client_secret: str
    scopes: str


async def _ensure_clients(session: AsyncSession, saved: dict[str, DemoClient]) -> list[DemoClient]:
    clients: list[DemoClient] = []
    for org in await organisations.list_all(session):
        known = saved.get(org.code)
        if known and await session.get(Client, known.client_id) is not None:
            clients.append(known)
            continue
        registered = await auth_service.register_client(
            session,
            organisation=org.code,
            name=f"{org.name_en} demo client",
            client_id=known.client_id if known else f"demo-{org.code.lower()}",
            secret=known.client_secret if known else None,
        )
        assert registered.secret is not None
        clients.append(
            DemoClient(
                org.code,
                org.kind,
                registered.client.client_id,
                registered.secret,
                registered.client.scopes,
            )
        )
    return clients


def prepare(var_dir: Path) -> list[DemoClient]:
    """Key set, schema, catalogue and demo clients; idempotent."""
    current = settings()
    var_dir.mkdir(parents=True, exist_ok=True)
    if not current.keys_path.exists():
        KeySet.generate(utcnow()).save(current.keys_path)
        console.print(f"created key set {current.keys_path}")
    migrations.upgrade(current.database)
    catalogue = load_catalogue(current.catalogue_dir)
    run(in_transaction(lambda s: catalogue_service.sync(s, catalogue)))
    path = var_dir / "demo-clients.json"
    saved: dict[str, DemoClient] = {}
    if path.exists():
        saved = {c["organisation"]: DemoClient(**c) for c in json.loads(path.read_text("utf-8"))}
    clients = run(in_transaction(lambda s: _ensure_clients(s, saved)))
    path.write_text(
        json.dumps([asdict(c) for c in clients], indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    os.chmod(path, 0o600)
    return clients


async def _populate(
    current: Settings, catalogue: Catalogue, folder: Path, manifest: Manifest
) -> tuple[int, int]:
    """Ingest every synthetic file as its sending organisation; returns (rows, rejected)."""
    mappings = load_mappings(catalogue, current.mapping_dirs)
    keyset = KeySet.load(current.keys_path)
    db = Database(current.database)
    rows = rejected = 0
    try:
        order = sorted(manifest.files, key=lambda f: (f.record == "status_event", f.file))
        with ingest_progress() as progress:
            for entry in order:
                report = await ingest_path(
                    db,
                    keyset,
                    catalogue,
                    mappings[entry.source],
                    entry.organisation,
                    folder / entry.file,
                    progress,
                    current.catalogue_dir,
                )
                rows += report.batch.rows
                rejected += report.batch.rejected
    finally:
        await db.dispose()
    return rows, rejected


async def _already_populated(current: Settings) -> bool:
    db = Database(current.database)
    try:
        async with db.transaction() as session:
            return bool(await session.scalar(select(func.count()).select_from(IngestBatch)))
    finally:
        await db.dispose()


def populate(persons: int) -> None:
    """First run only: a synthetic population, every source's native file ingested."""
    current = settings()
    if run(_already_populated(current)):
        console.print("reusing the population already ingested")
        return
    catalogue = load_catalogue(current.catalogue_dir)
    folder = current.var_dir / "synthetic"
    console.print(f"writing a synthetic population of {persons:,} persons to {folder}")
    manifest = generate(
        folder,
        persons=persons,
        mappings=load_mappings(catalogue, current.mapping_dirs),
        catalogue=catalogue,
    )
    rows, rejected = run(_populate(current, catalogue, folder, manifest))
    console.print(
        f"ingested {rows:,} rows from {len(manifest.files)} files "
        f"({rejected:,} planted bad rows rejected, as intended)"
    )


def curl_lines(client: DemoClient, base: str) -> list[str]:
    read_json = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    return [
        f"TOKEN=$(curl -s -u {client.client_id}:{client.client_secret} "
        f"-d grant_type=client_credentials {base}/oauth/token | {read_json})",
        f'curl -s -H "Authorization: Bearer $TOKEN" {base}/v1/programmes',
        f"curl -s {base}/healthz",
    ]


def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Prepare only; do not serve."),
    persons: int = typer.Option(
        20_000, min=100, help="Synthetic persons to ingest on the first run."
    ),
) -> None:
    """Prepare the embedded demo (keys, database, catalogue, clients, a synthetic population
    ingested from every source) and serve it."""
    current = settings()
    clients = prepare(current.var_dir)
    populate(persons)
    by_org = {c.organisation: c for c in clients}
    console.print(
        f"[bold]{len(clients)} demo clients[/] in {current.var_dir / 'demo-clients.json'}"
    )
    console.print("Try (as the Ministry of Health and Welfare):\n")
    for line in curl_lines(by_org.get("MOHW", clients[0]), f"http://{host}:{port}"):
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    console.print()
    if not no_serve:
        serve(host=host, port=port, workers=1)
