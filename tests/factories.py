"""Test factories: organisations with clients, bearer tokens, and a live uvicorn server."""

from __future__ import annotations

import base64
import datetime
import itertools
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from hub.auth import service as auth_service
from hub.database import Database
from hub.main import create_app
from hub.organisations import service as organisations
from hub.settings import Settings


@dataclass(frozen=True)
class Credentials:
    organisation: str
    client_id: str
    secret: str | None
    scopes: str

    @property
    def basic(self) -> str:
        raw = f"{self.client_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


async def new_client(
    db: Database,
    *,
    kind: str = "ministry",
    scopes: str | None = None,
    jwks: dict | None = None,
    organisation: str | None = None,
) -> Credentials:
    """A fresh organisation of `kind` (unless given) with one client."""
    async with db.transaction() as session:
        if organisation is None:
            organisation = f"T{secrets.token_hex(4).upper()}"
            await organisations.add(
                session, code=organisation, kind=kind, name_ko="시험 기관", name_en="Test body"
            )
        registered = await auth_service.register_client(
            session, organisation=organisation, name="test client", scopes=scopes, jwks=jwks
        )
    client = registered.client
    return Credentials(organisation, client.client_id, registered.secret, client.scopes)


async def bearer(
    api: httpx.AsyncClient, credentials: Credentials, scope: str | None = None
) -> dict[str, str]:
    """Authorization header with a fresh access token for `credentials`."""
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = await api.post(
        "/oauth/token", data=form, headers={"Authorization": credentials.basic}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn serving the app on 127.0.0.1 in a background thread."""

    def __init__(self, settings_for_port: Callable[[str], Settings]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(settings_for_port(self.url))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


_serial = itertools.count(random.SystemRandom().randrange(100_000, 800_000))


def new_rrn(birth: datetime.date | None = None, *, female: bool = False) -> str:
    """A valid, unique (per test run) synthetic RRN; never a real person's."""
    rng = random.SystemRandom()
    birth = birth or datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(0, 25_000))
    century = 1 if birth.year < 2000 else 3
    gender = century + (1 if female else 0)
    return f"{birth:%y%m%d}-{gender}{next(_serial):06d}"


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    """An httpx client that calls the real app in-process (ASGI transport), as a browser or a
    ministry system would over HTTP."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://hub.test")


async def refuse_log_inserts(db: Database) -> None:
    """A real trigger that makes every disclosure-log insert fail."""
    async with db.transaction() as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(
                text(
                    "CREATE FUNCTION refuse_entry() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$"
                )
            )
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_entry BEFORE INSERT ON disclosure_entries "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_entry()"
                )
            )
        else:
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_entry BEFORE INSERT ON disclosure_entries "
                    "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"
                )
            )
