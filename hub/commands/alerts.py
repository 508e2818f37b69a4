"""`hub alerts`: run delivery workers, see where deliveries stand, replay dead letters.

`work` runs a worker until interrupted (or, with --once, until nothing is due): any number may
run against PostgreSQL, each taking disjoint deliveries; `hub serve` runs one in-process unless
HUB_ALERT_WORKER=off. Dead letters stay until `replay` puts them back in the queue (after the
receiver is fixed); a subscription disabled by `410 Gone` is not replayed.
"""

from __future__ import annotations

import contextlib

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts import outbox, queue
from hub.alerts.models import DEAD, DELIVERED, FEED, PENDING
from hub.alerts.worker import Totals, Worker
from hub.commands.common import console, fail, in_transaction, run, settings
from hub.database import Database
from hub.kit.clock import utcnow
from hub.settings import Settings
from hub.vault.ring import KeyRing
from schemas.catalogue import load_catalogue

app = typer.Typer(help="Status-change alerts: delivery workers, status, replay of dead letters.")


async def _work(current: Settings, *, once: bool) -> Totals | None:
    db = Database(current.database)
    worker = Worker(db, current, KeyRing(current.keys_path), load_catalogue(current.catalogue_dir))
    try:
        if once:
            return await worker.run_once()
        await worker.run_forever()
        return None
    finally:
        await db.dispose()


@app.command()
def work(
    once: bool = typer.Option(
        False, "--once", help="Fan out and deliver what is due now, then stop."
    ),
) -> None:
    """Deliver alerts: fan out waiting events, send due webhooks, retry, dead-letter."""
    current = settings()
    if not current.keys_path.exists():
        raise fail(f"no key set at {current.keys_path}; set HUB_KEYS_FILE")
    if not once:
        console.print("alerts worker running; Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        totals = run(_work(current, once=once), serving=not once)
        if totals is not None:
            console.print(
                f"{totals.events} event(s) fanned out; {totals.delivered} delivered, "
                f"{totals.retry} to retry, {totals.dead} dead-lettered"
            )


@app.command()
def status() -> None:
    """Deliveries per subscription: pending, delivered, dead (and pull-feed alerts)."""
    rows, waiting = run(in_transaction(_both))  # one transaction, one consistent picture
    table = Table(
        "subscription",
        "organisation",
        "mode",
        "status",
        "pending",
        "delivered",
        "dead",
        "feed",
        "last seq",
    )
    for row in rows:
        table.add_row(
            row.subscription_id,
            row.organisation,
            row.mode,
            row.status,
            *(str(row.counts.get(s, 0)) for s in (PENDING, DELIVERED, DEAD, FEED)),
            str(row.last_seq),
        )
    console.print(table)
    console.print(f"{waiting} event(s) waiting to be fanned out")


async def _both(session: AsyncSession) -> tuple[list[queue.Standing], int]:
    return await queue.standing(session), await outbox.waiting(session)


@app.command()
def replay(
    subscription: str | None = typer.Option(
        None, "--subscription", help="Only this subscription's dead letters."
    ),
) -> None:
    """Put dead-lettered deliveries of active subscriptions back in the queue, due now."""
    count = run(in_transaction(lambda s: queue.replay(s, utcnow(), subscription_id=subscription)))
    console.print(f"{count} dead-lettered deliver{'y' if count == 1 else 'ies'} queued again")
