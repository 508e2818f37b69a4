"""Runtime settings, read from `HUB_*` environment variables (pydantic-settings).

The embedded default is a SQLite file and a key-set file under `var/`; production names a
PostgreSQL server in `HUB_DATABASE_URL` and a key set kept outside the database in
`HUB_KEYS_FILE` (DESIGN.md: keys live outside the database).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def normalise_database_url(url: str) -> str:
    """Map plain `postgresql://` and `sqlite://` URLs onto the async drivers the hub uses."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class Settings(BaseSettings):
    """Every knob of the hub; the names below are the `HUB_` environment variables."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    var_dir: Path = Field(
        default=Path("var"), description="Where the embedded default keeps files."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file var/hub.db."
    )
    keys_file: Path | None = Field(default=None, description="Key-set file; default var/keys.json.")
    catalogue_dir: Path | None = Field(
        default=None, description="Catalogue folder; default: the one shipped in schemas/catalogue."
    )
    mappings_dir: Path | None = Field(
        default=None, description="Extra folder of source mappings (a new source = a new file)."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="External base URL: the OAuth issuer and the token endpoint audience.",
    )
    access_token_ttl: int = Field(default=600, ge=60, le=3600, description="Seconds.")
    assertion_max_age: int = Field(
        default=300, ge=30, le=3600, description="Longest accepted client-assertion lifetime."
    )
    clock_leeway: int = Field(default=30, ge=0, le=300, description="Seconds of clock skew.")
    checkpoint_interval: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="Most seconds between signed checkpoints of the disclosure log while "
        "entries arrive.",
    )
    sequencer: bool = Field(
        default=True,
        description="Run the disclosure-log sequencer inside each `hub serve` process; "
        "HUB_SEQUENCER=off when `hub audit sequence --loop` runs it elsewhere.",
    )
    alert_worker: bool = Field(
        default=True,
        description="Run an alerts delivery worker inside each `hub serve` process; "
        "HUB_ALERT_WORKER=off when `hub alerts work` processes do it.",
    )
    alert_retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        default=(5, 300, 1800, 7200, 18000, 36000, 36000),
        description="Seconds to wait after each failed webhook attempt (comma-separated or a "
        "JSON list); after the last the delivery is dead-lettered (DESIGN.md, Alerts delivery).",
    )
    alerts_allow_private_targets: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback and private addresses (and plain http to "
        "them): only for a hub on a private network, and for tests.",
    )
    alert_lease: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds a worker holds the deliveries it claimed; a killed worker's "
        "claims are sent again after it. Must exceed HUB_ALERT_TIMEOUT (with room to resolve "
        "the host and record the result), or a slow attempt is sent twice.",
    )
    alert_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds one webhook request may take."
    )
    alert_poll_interval: float = Field(
        default=0.5, gt=0, le=60, description="Seconds an idle alerts worker waits."
    )
    alert_concurrency: int = Field(
        default=32,
        ge=2,
        le=1000,
        description="Webhook requests a worker has in flight; it claims no more than that, "
        "so every claimed delivery is attempted at once.",
    )
    alert_admission_lag: float = Field(
        default=0.0,
        ge=0,
        le=600,
        description="Backpressure: POST /v1/events first waits while the oldest due webhook "
        "delivery has waited longer than this many seconds (hub.alerts.admission); 0, the "
        "default, records events at once whatever the delivery backlog.",
    )
    alert_admission_wait: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="The longest POST /v1/events waits for delivery to catch up; the events "
        "are then recorded anyway, so none is refused or lost because of alerts.",
    )
    rate_limit: str = Field(
        default="100/second",
        description="Each client's quota, in the `limits` notation (`600/minute`, "
        "`100/second`, `10000/hour`); `off` disables rate limiting.",
    )
    rate_limit_storage: str = Field(
        default="async+memory://",
        description="Where quotas are counted: `async+memory://` (one process) or "
        "`async+redis://host:6379` (shared by several hub processes).",
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        description="Largest JSON request body, in bytes; larger ones get 413.",
    )
    max_upload_bytes: int = Field(
        default=2 << 30,
        ge=1024,
        description="Largest native file uploaded to POST /v1/ingest/{source}, in bytes.",
    )
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sql_echo: bool = False

    @field_validator("public_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        """OAuth 2 requires TLS (RFC 6749 §3.2.1); plain http only on this machine (demo)."""
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value.rstrip("/")
        if parts.scheme == "http" and parts.hostname in _LOOPBACK:
            return value.rstrip("/")
        raise ValueError("must be an https:// URL (http:// only for 127.0.0.1 or localhost)")

    @field_validator("alert_retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        """`5,300,1800` or `[5, 300, 1800]`; each wait positive, at least one."""
        if isinstance(value, str):
            text = value.strip().removeprefix("[").removesuffix("]")
            value = [part for part in (p.strip() for p in text.split(",")) if part]
        if isinstance(value, list | tuple) and (not value or any(float(v) <= 0 for v in value)):
            raise ValueError("must list one or more positive numbers of seconds")
        return value

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        if self.alert_lease <= self.alert_timeout:
            raise ValueError("HUB_ALERT_LEASE must be longer than HUB_ALERT_TIMEOUT")
        return self

    @cached_property
    def database(self) -> str:
        """The async SQLAlchemy URL in force."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.var_dir / 'hub.db').as_posix()}"

    @cached_property
    def keys_path(self) -> Path:
        return self.keys_file or self.var_dir / "keys.json"

    @property
    def mapping_dirs(self) -> tuple[Path, ...]:
        return (self.mappings_dir,) if self.mappings_dir else ()

    @property
    def issuer(self) -> str:
        return self.public_url

    @property
    def token_endpoint(self) -> str:
        return f"{self.public_url}/oauth/token"

    @property
    def log_origin(self) -> str:
        """The disclosure log's origin line in its checkpoints (C2SP tlog-checkpoint): the
        hub's host and path, which also names the key that signs them."""
        parts = urlsplit(self.public_url)
        return f"{parts.netloc}{parts.path}/disclosure-log"

    @property
    def resource_audience(self) -> str:
        """The `aud` of access tokens (RFC 9068 §3: the resource the token is meant for)."""
        return f"{self.public_url}/v1"
