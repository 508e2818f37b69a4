"""`hub orgs`: register and list organisations."""

from __future__ import annotations

import typer
from rich.table import Table

from hub.commands.common import console, in_transaction, run
from hub.organisations import service
from schemas.organisation import OrganisationKind

app = typer.Typer(help="Organisations: ministries, registry, local governments, centres, auditors.")


@app.command()
def add(
    code: str = typer.Argument(..., help="Stable code, e.g. MOHW or WC-ARA."),
    kind: OrganisationKind = typer.Option(..., help="What kind of body it is."),
    name_ko: str = typer.Option(..., help="Korean name."),
    name_en: str = typer.Option(..., help="English name."),
    parent: str | None = typer.Option(None, help="Code of the parent organisation."),
    region: str | None = typer.Option(None, help="Administrative region code."),
) -> None:
    """Register an organisation."""
    run(
        in_transaction(
            lambda s: service.add(
                s,
                code=code,
                kind=kind.value,
                name_ko=name_ko,
                name_en=name_en,
                parent=parent,
                region_code=region,
            )
        )
    )
    console.print(f"organisation [bold]{code}[/] registered")


@app.command("list")
def list_orgs(kind: OrganisationKind | None = typer.Option(None, help="Only this kind.")) -> None:
    """List organisations."""
    rows = run(in_transaction(lambda s: service.list_all(s, kind.value if kind else None)))
    table = Table("code", "kind", "name (ko)", "name (en)", "parent", "region")
    for o in rows:
        table.add_row(
            o.code, o.kind, o.name_ko, o.name_en, o.parent_code or "", o.region_code or ""
        )
    console.print(table)
