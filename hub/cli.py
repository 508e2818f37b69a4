"""The `hub` command: run, set up and operate the hub. `hub COMMAND --help` says more."""

from __future__ import annotations

import typer

from hub import logging as hub_logging
from hub.commands import (
    alerts,
    audit,
    catalogue,
    clients,
    db,
    demo,
    duplicates,
    ingest,
    keys,
    orgs,
    serve,
    synth,
)

app = typer.Typer(
    help="Interagency welfare data-exchange hub.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold personal data
    rich_markup_mode="rich",
)


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show informational logs."),
) -> None:
    """Interagency welfare data-exchange hub."""
    # Commands print their own summaries; logs are for problems unless asked for.
    # (`hub serve` configures its own JSON logs when the app starts.)
    hub_logging.configure("INFO" if verbose else "WARNING", "console")


app.command()(serve.serve)
app.command()(demo.demo)
app.command()(serve.openapi)
app.command()(ingest.ingest)
app.command()(synth.synth)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(orgs.app, name="orgs")
app.add_typer(clients.app, name="clients")
app.add_typer(catalogue.app, name="catalogue")
app.add_typer(audit.app, name="audit")
app.add_typer(duplicates.app, name="duplicates")
app.add_typer(alerts.app, name="alerts")

if __name__ == "__main__":
    app()
