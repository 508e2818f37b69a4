"""The application factory: `create_app()` wires settings, database, keys, catalogue, logging,
problem handlers, metrics and the routers. Nothing else builds a FastAPI app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import structlog
from fastapi import FastAPI

from audit import sequencer
from connectors.registry import load_mappings
from hub import logging as hub_logging
from hub.alerts.worker import Worker as AlertWorker
from hub.api import alerts as alerts_api
from hub.api import audit as audit_api
from hub.api import (
    cases,
    consents,
    directory,
    duplicate_scans,
    eligibility,
    health,
    ingest,
    problems,
    programmes,
    referrals,
)
from hub.api import duplicates as duplicates_api
from hub.api import events as events_api
from hub.api.body_limit import BodyLimit
from hub.api.middleware import RequestContext
from hub.api.nul_text import RefuseNul
from hub.api.quota import QuotaHeaders
from hub.auth import router as auth_router
from hub.auth.ratelimit import RateLimiter
from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.kit import allocation
from hub.kit.clock import utcnow
from hub.settings import Settings
from hub.vault.ring import KeyRing
from schemas.catalogue import load_catalogue

API_VERSION = "1.0.0"
SEQUENCER_BUSY_PAUSE = 0.1
"""Seconds between sequencer runs while entries arrive (up to `checkpoint_interval / 2`
while none do). A run's CPU is taken from the requests its process serves: one run a second
held up those in flight for tens of milliseconds (the slowest 1% of verifies), ten a second
hold each up for a few (benchmarks/RESULTS.md, issue 5)."""
DESCRIPTION = """\
Interagency welfare data-exchange hub: eligibility verification with minimal disclosure,
duplicate-benefit checks, status-change alerts, case sharing under consent, and a
tamper-evident disclosure log. Errors are RFC 9457 problem+json; authenticate with OAuth 2
client credentials at `/oauth/token`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the hub. The catalogue and the source mappings are validated here, so a broken
    file stops start-up with a message naming it."""
    settings = settings or Settings()
    hub_logging.configure(settings.log_level, settings.log_format)
    catalogue = load_catalogue(settings.catalogue_dir)
    mappings = load_mappings(catalogue, settings.mapping_dirs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database, echo=settings.sql_echo)
        app.state.db = db
        await catalogue_service.sync_if_changed(db, catalogue)
        log = structlog.get_logger("hub")
        log.info("hub.started", catalogue_hash=catalogue.hash, database=db.engine.dialect.name)
        allocation.settle_after_startup()

        async def sequence_forever() -> None:
            """The in-process sequencer: a fresh signed checkpoint every few seconds while
            entries arrive (DESIGN.md, "The disclosure log"). Every process may run one; the
            advisory lock lets one work at a time. Each run is its own transaction; a failed
            run is logged by error type only (a database message may quote an entry) and the
            next one retries."""
            idle = min(1.0, settings.checkpoint_interval / 2)
            while True:
                pause = idle
                try:
                    async with db.transaction() as session:
                        done = await sequencer.run(
                            session,
                            app.state.keyring.current(),
                            origin=settings.log_origin,
                            now=utcnow(),
                            interval=settings.checkpoint_interval,
                        )
                    if done.sequenced:
                        pause = SEQUENCER_BUSY_PAUSE
                except Exception as exc:  # one failed run must not end the loop
                    log.warning("audit.sequencer.failed", error=type(exc).__name__)
                await asyncio.sleep(pause)

        sequencing = (
            asyncio.create_task(sequence_forever(), name="audit-sequencer")
            if settings.sequencer
            else None
        )
        # The in-process alerts worker (DESIGN.md, "Alerts delivery"): its claims are leases in
        # the database, so it may run beside `hub alerts work` processes or be killed anytime.
        alerting = (
            asyncio.create_task(
                AlertWorker(db, settings, app.state.keyring, catalogue).run_forever(),
                name="alerts-worker",
            )
            if settings.alert_worker
            else None
        )
        try:
            yield
        finally:
            if alerting is not None:
                alerting.cancel()
                with suppress(asyncio.CancelledError):
                    await alerting
            if sequencing is not None:
                sequencing.cancel()
                with suppress(asyncio.CancelledError):
                    await sequencing
            await db.dispose()

    app = FastAPI(
        title="Welfare data-exchange hub",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.keyring = KeyRing(settings.keys_path)
    app.state.catalogue = catalogue
    app.state.mappings = mappings
    problems.install(app)
    app.state.rate_limiter = (
        None
        if settings.rate_limit == "off"
        else RateLimiter(settings.rate_limit, settings.rate_limit_storage)
    )
    app.add_middleware(QuotaHeaders)
    app.add_middleware(RefuseNul)  # inside BodyLimit: it holds at most an allowed body
    app.add_middleware(
        BodyLimit, default=settings.max_body_bytes, uploads=settings.max_upload_bytes
    )
    app.add_middleware(RequestContext)  # outermost: the 413s carry a request id too
    # Eligibility first: FastAPI tries the routes in the order they were included, at about
    # 5 µs each, and the verify is most of the hub's traffic; after the sixteen routes before
    # it, matching cost a tenth of its CPU (benchmarks/RESULTS.md, issue 5). No other route
    # can match its paths, so the order changes nothing else.
    app.include_router(eligibility.router)
    app.include_router(health.router)
    app.include_router(auth_router.router)
    app.include_router(programmes.router)
    app.include_router(directory.router)
    app.include_router(ingest.router)
    app.include_router(duplicates_api.router)
    app.include_router(duplicate_scans.router)
    app.include_router(consents.router)
    app.include_router(cases.router)
    app.include_router(referrals.router)
    app.include_router(events_api.router)
    app.include_router(alerts_api.router)
    app.include_router(audit_api.router)
    return app
