"""`hub duplicates scan`: every duplicate rule over every enrolment, with a bar per rule and a
summary table (rule, matched, new findings). The same scan as `POST /v1/duplicates/scans`."""

from __future__ import annotations

import getpass

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.commands.common import console, fail, in_transaction, run, settings
from hub.duplicates.rules import ResolvedRule
from hub.duplicates.scan import RuleOutcome, ScanReport
from hub.duplicates.scan import scan as run_scan
from schemas.catalogue import CatalogueError, load_catalogue

app = typer.Typer(help="Duplicate benefits: scans over all enrolments.")


def _summary(report: ScanReport, names: dict[str, str]) -> Table:
    record = report.scan
    table = Table(title=f"scan {record.id} · rules {record.rule_set_hash[:16]}…")
    table.add_column("rule")
    table.add_column("pair")
    table.add_column("matched", justify="right")
    table.add_column("new findings", justify="right")
    table.add_column("seconds", justify="right")
    for outcome in report.rules:
        table.add_row(
            outcome.rule_id,
            names[outcome.rule_id],
            f"{outcome.matched:,}",
            f"{outcome.new_findings:,}",
            f"{outcome.seconds:.2f}",
        )
    table.add_section()
    table.add_row(
        "all",
        "",
        f"{record.matched:,}",
        f"{record.new_findings:,}",
        f"{report.seconds:.2f}",
        style="bold",
    )
    return table


@app.command()
def scan() -> None:
    """Run all duplicate rules over all enrolments; store new findings (one transaction)."""
    try:
        catalogue = load_catalogue(settings().catalogue_dir)
    except CatalogueError as exc:
        raise fail(str(exc)) from None
    rules = catalogue.duplicate_rules
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rule]}"),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("scan", total=len(rules), rule="")

    def on_rule(resolved: ResolvedRule, outcome: RuleOutcome | None) -> None:
        if outcome is None:
            progress.update(task, rule=f"{resolved.rule.id} {resolved.rule.name_ko}")
        else:
            progress.advance(task)

    with progress:
        report = run(
            in_transaction(
                lambda session: run_scan(
                    session, catalogue, requested_by=f"cli:{getpass.getuser()}", on_rule=on_rule
                )
            )
        )
        progress.update(task, rule="done")
    console.print(_summary(report, {r.id: r.name_ko for r in rules}))
