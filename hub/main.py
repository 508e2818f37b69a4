"""The application factory: `create_app()` wires settings, database, keys, catalogue, logging,
problem handlers, metrics and the routers. Nothing else builds a FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from connectors.registry import load_mappings
from hub import logging as hub_logging
from hub.api import directory, health, ingest, problems, programmes
from hub.api.middleware import RequestContext
from hub.auth import router as auth_router
from hub.catalogue import service as catalogue_service
from hub.database import Database
from hub.settings import Settings
from hub.vault.ring import KeyRing
from schemas.catalogue import load_catalogue

API_VERSION = "1.0.0"
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
        structlog.get_logger("hub").info(
            "hub.started", catalogue_hash=catalogue.hash, database=db.engine.dialect.name
        )
        try:
            yield
        finally:
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
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    app.include_router(auth_router.router)
    app.include_router(programmes.router)
    app.include_router(directory.router)
    app.include_router(ingest.router)
    return app
