"""The `hub` command: run, set up and operate the hub. `hub COMMAND --help` says more."""

from __future__ import annotations

import typer

from hub.commands import catalogue, clients, db, demo, keys, orgs, serve

app = typer.Typer(
    help="Interagency welfare data-exchange hub.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold personal data
    rich_markup_mode="rich",
)
app.command()(serve.serve)
app.command()(demo.demo)
app.command()(serve.openapi)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(orgs.app, name="orgs")
app.add_typer(clients.app, name="clients")
app.add_typer(catalogue.app, name="catalogue")

if __name__ == "__main__":
    app()
