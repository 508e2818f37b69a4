"""What every command shares: settings, a console, and running async work with clean errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from hub.database import Database
from hub.kit.errors import HubError
from hub.settings import Settings
from hub.vault import KeySetError

try:  # installed with uvicorn[standard] wherever it builds (not on Windows)
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)


def settings() -> Settings:
    """The settings from HUB_* variables; a bad value is reported by name, not as a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"HUB_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise fail(f"invalid settings: {problems}") from None


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def run(coroutine: Awaitable[T], *, serving: bool = False) -> T:
    """Run async work; domain errors become a one-line message and exit status 1.

    `serving`: a long-running loop of network work (`hub alerts work`) runs on uvloop where
    it is installed, as `hub serve` does under uvicorn: the event loop's own bookkeeping was a
    large share of a delivery worker's CPU (benchmarks/RESULTS.md, "Alerts delivery")."""
    try:
        if serving and uvloop is not None:
            return uvloop.run(coroutine)  # type: ignore[arg-type,no-any-return]
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    except HubError as exc:
        details = "".join(f"\n  {e['field']}: {e['reason']}" for e in exc.errors or [])
        raise fail(f"{exc}{details}") from None
    except KeySetError as exc:
        raise fail(str(exc)) from None


async def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One CLI job = one transaction (DESIGN.md: the request or the CLI job commits)."""
    db = Database(settings().database)
    try:
        async with db.transaction() as session:
            return await work(session)
    finally:
        await db.dispose()
