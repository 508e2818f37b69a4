"""`hub clients`: API clients of organisations and their scopes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from hub.auth import repository, service
from hub.auth.scopes import ALL_SCOPES
from hub.commands.common import console, fail, in_transaction, run

app = typer.Typer(help="API clients: register (private_key_jwt or secret), list, disable.")


@app.command()
def add(
    organisation: str = typer.Argument(..., help="Organisation code the client acts for."),
    name: str = typer.Option(..., help="A label, e.g. 'eligibility system'."),
    scope: list[str] = typer.Option(
        [],
        help=f"Scope to grant (repeatable); default: the kind's defaults. {' '.join(ALL_SCOPES)}",
    ),
    jwks: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="Public JWK or JWK Set file: use private_key_jwt."
    ),
) -> None:
    """Register a client. Without --jwks a secret is generated and printed once."""
    document = None
    if jwks is not None:
        try:
            document = json.loads(jwks.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise fail(f"{jwks}: not a JSON file ({type(exc).__name__})") from None
    registered = run(
        in_transaction(
            lambda s: service.register_client(
                s,
                organisation=organisation,
                name=name,
                scopes=" ".join(scope) or None,
                jwks=document,
            )
        )
    )
    client = registered.client
    console.print(f"client_id: [bold]{client.client_id}[/]  ({client.auth_method})")
    console.print(f"scopes:    {client.scopes}")
    if registered.secret:
        console.print(f"secret:    [bold]{registered.secret}[/]  (shown once; store it now)")


@app.command("list")
def list_clients(
    organisation: str | None = typer.Option(None, help="Only this organisation."),
) -> None:
    """List clients (secrets are never shown again)."""
    rows = run(in_transaction(lambda s: repository.list_clients(s, organisation)))
    table = Table("client_id", "organisation", "method", "enabled", "scopes")
    for c in rows:
        table.add_row(c.client_id, c.organisation_code, c.auth_method, str(c.enabled), c.scopes)
    console.print(table)


@app.command()
def disable(client_id: str) -> None:
    """Disable a client: its tokens stop working on the next request."""
    run(in_transaction(lambda s: service.set_enabled(s, client_id, False)))
    console.print(f"{client_id} disabled")


@app.command()
def enable(client_id: str) -> None:
    """Re-enable a disabled client."""
    run(in_transaction(lambda s: service.set_enabled(s, client_id, True)))
    console.print(f"{client_id} enabled")
