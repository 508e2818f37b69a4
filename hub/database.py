"""Engines and sessions: async SQLAlchemy 2 over aiosqlite (embedded) or asyncpg (PostgreSQL).

House rule (DESIGN.md, one transaction per request): services and repositories only `flush()`;
the request (see `hub.api.deps.session`) or the CLI job commits.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Table,
    TypeDecorator,
    Uuid,
    any_,
    bindparam,
    event,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.kit.driver import as_sqlalchemy_error

Executor = AsyncSession | AsyncConnection
"""What statements run on: a session (the usual unit of work) or, for the one endpoint whose
write is a single statement, a bare connection (hub.auth.dependencies `StatementConnection`)."""


def dialect_of(executor: Executor) -> str:
    """The executor's database dialect: "postgresql" or "sqlite"."""
    if isinstance(executor, AsyncConnection):
        return executor.dialect.name
    return executor.bind.dialect.name if executor.bind is not None else "sqlite"


def insert_for(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing/do_update` on both backends."""
    dialect = dialect_of(session)
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def one_of(session: AsyncSession, column: Any, values: Sequence[Any]) -> Any:
    """`column IN values` for a large list: on PostgreSQL `= ANY(array)`, one bound parameter.

    An IN list of a few thousand values is rendered into the statement at every execution
    (SQLAlchemy's "post-compile" step), which costs more than the query; one array parameter is
    compiled once and cached.
    """
    dialect = dialect_of(session)
    if dialect != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))


def in_parameter(dialect: str, column: Any, name: str) -> Any:
    """`column IN :name` for a prebuilt statement: the list is given at execution, as `name`.
    On PostgreSQL `= ANY(:name)`, one array parameter; elsewhere an expanding IN."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


async def update_rows(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Update rows of `model` by primary key `id`: each dict holds the id and the columns it
    sets; a column a dict lacks (or gives as None) keeps its stored value. So no dict can set
    a column to NULL (the callers never do).

    On PostgreSQL one statement for all of them, each column's values as one array joined by
    `unnest`: the ORM's bulk UPDATE by primary key runs a statement per row, which cost a
    registry file about half of its time (benchmarks/RESULTS.md, issue 3). Elsewhere the
    ORM's bulk UPDATE, grouped by the keys each dict holds.
    """
    if not rows:
        return
    if dialect_of(session) != "postgresql":
        await session.execute(update(model), list(rows))
        return
    table = model.__table__
    columns = [c for c in dict.fromkeys(key for row in rows for key in row) if c != "id"]
    given = ["id", *columns]
    # Identifiers come from the model's own metadata, values go as array parameters.
    statement = text(
        f'UPDATE "{table.name}" SET '  # noqa: S608
        + ", ".join(f'"{c}" = coalesce(given."{c}", "{table.name}"."{c}")' for c in columns)
        + f" FROM unnest({', '.join(f':{c}' for c in given)})"
        + f" AS given ({', '.join(f'{c}' for c in given)})"
        + f' WHERE "{table.name}".id = given.id'
    ).bindparams(*(bindparam(c, type_=postgresql.ARRAY(table.c[c].type)) for c in given))
    await session.execute(statement, {c: [row.get(c) for row in rows] for c in given})


async def bulk_insert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] = (),
) -> int:
    """`copy_rows` for rows given as dicts (all with the same keys, in the same order)."""
    if not rows:
        return 0
    columns = list(rows[0])
    records = [tuple(row[c] for c in columns) for row in rows]
    return await copy_rows(session, table, columns, records, skip_conflicts_on=skip_conflicts_on)


async def copy_rows(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    records: Sequence[tuple[Any, ...]],
    *,
    skip_conflicts_on: Sequence[str] = (),
    json_encoded: bool = False,
) -> int:
    """Insert many rows fast, inside the session's transaction: one tuple per row, its values
    in the order of `columns` (with `json_encoded`, JSON columns' values are already JSON
    text).

    PostgreSQL: binary COPY through asyncpg. SQLite: one prepared INSERT run with executemany
    on the driver, each column's SQLAlchemy bind processor applied once per value. Both skip the
    per-row machinery of an ORM/Core executemany, which costs more than the insert itself.

    Without `skip_conflicts_on` the rows must be new (a duplicate key fails the transaction).
    With it, rows that collide on that unique key are skipped (ON CONFLICT DO NOTHING); on
    PostgreSQL they go through a temporary staging table, since COPY has no ON CONFLICT.
    Returns how many rows were inserted.
    """
    if not records:
        return 0
    columns = list(columns)
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    conflict = (
        f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING" if skip_conflicts_on else ""
    )
    if connection.dialect.name == "postgresql":
        # asyncpg's COPY encodes json columns from text; every other value goes as it is.
        as_json = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
        if as_json and not json_encoded:
            records = [
                tuple(_json_text(v) if i in as_json else v for i, v in enumerate(record))
                for record in records
            ]
        with _as_sqlalchemy_errors(f'COPY "{table.name}"'):
            if not conflict:
                await raw.copy_records_to_table(table.name, records=records, columns=columns)
                return len(records)
            staging = f"staging_{table.name}"
            await raw.execute(
                f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" '
                f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DROP'
            )
            await raw.execute(f'TRUNCATE "{staging}"')
            await raw.copy_records_to_table(staging, records=records, columns=columns)
            status = await raw.execute(
                f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}"{conflict}'  # noqa: S608
            )
            return int(status.rsplit(" ", 1)[-1])  # "INSERT 0 <rows>"
    # The dialect's own processors, as SQLAlchemy's INSERT applies them: the generic ones
    # left an aware datetime to sqlite3's default adapter, which wrote it with its offset,
    # in another format than every other row's (tests/test_database_copy.py).
    dialect = connection.dialect
    processors = [
        None
        if json_encoded and isinstance(table.c[c].type, JSON)
        else table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        for c in columns
    ]
    if any(processors):
        # A column at a time, each processed value remembered for the call: a load's rows
        # repeat their times, dates, batch and person ids, and SQLAlchemy's text forms for
        # SQLite are Python functions. Row by row, with a test per value for a processor,
        # this was a tenth of the writer's time on SQLite (benchmarks/RESULTS.md, issue 3).
        values: list[Sequence[Any]] = list(zip(*records, strict=True))
        for i, process in enumerate(processors):
            if process is not None:
                memo = _remembered(process) if _hashable(table.c[columns[i]].type) else process
                values[i] = [None if v is None else memo(v) for v in values[i]]
        records = list(zip(*values, strict=True))
    marks = ", ".join("?" for _ in columns)
    # Identifiers come from the table's own metadata, values go as parameters.
    insert = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}){conflict}'  # noqa: S608
    with _as_sqlalchemy_errors(insert):
        cursor = await raw.executemany(insert, records)
    return int(cursor.rowcount)


@contextmanager
def _as_sqlalchemy_errors(statement: str) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy's (`hub.kit.driver.as_sqlalchemy_error`)."""
    try:
        yield
    except (asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error) as exc:
        raise as_sqlalchemy_error(statement, exc) from exc


def _remembered(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, computing each distinct value once (for one call of `copy_rows`)."""
    return functools.lru_cache(maxsize=None)(process)


def _hashable(column_type: Any) -> bool:
    """Whether a column's values can key a memo: dates, times and UUIDs can; JSON cannot."""
    return isinstance(column_type, (Date, DateTime, Uuid)) or (
        isinstance(column_type, TypeDecorator) and _hashable(column_type.impl)
    )


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers work beside the one writer;
    # the busy timeout makes a second writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


POOL_SIZE = 20
"""PostgreSQL connections per process, opened as needed and then kept. No overflow: an
overflow connection is closed when it is returned, so a worker serving more requests at once
than its pool held opened and closed one per request (a TCP connect, authentication and type
introspection each, about 4% of a verify's CPU under load; benchmarks/RESULTS.md). A request
beyond the 20 waits for a connection instead."""
RECYCLE_SECONDS = 1800
"""A pooled PostgreSQL connection older than this is replaced at checkout, so one that a
firewall or NAT dropped silently while idle is not kept for ever."""


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Checkout guard for PostgreSQL, in place of `pool_pre_ping`, at no round trip.

    The pre-ping cost three round trips per checkout (`BEGIN; ;` then `ROLLBACK`), about a
    quarter of a verify's (benchmarks/RESULTS.md). When a server restarts or a backend is
    terminated (`pg_terminate_backend`, an idle-session timeout, a failover), the server
    closes the socket, and asyncpg, which keeps reading from every pooled connection on the
    event loop, marks the connection closed. Raising `DisconnectionError` here makes the pool
    discard it and check out (or open) another, up to three times, so the request that comes
    next is served on a live connection (tests/test_database_reconnect.py).

    A connection that dies while checked out, or silently (no FIN from the peer), fails the
    statement that uses it: SQLAlchemy classifies that as a disconnect and invalidates the
    whole pool, so that request fails (a disclosure fails closed) and the next one reconnects.
    `pre_ping` could not save that request either.
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine for `url`; for SQLite the file's folder is created and pragmas are set."""
    # A failed statement's values stay out of its error text, which the logs carry
    # (tests/test_database_errors.py): they can be personal data.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs |= {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_recycle": RECYCLE_SECONDS}
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


class Database:
    """The engine and its session factory, created once per process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.statement_engine = self.engine
        """Connections for a unit of work whose writes are one statement (`hub.auth.dependencies`
        `StatementConnection`) and for short reads outside a request's unit of work. On
        PostgreSQL they run in autocommit, so each statement is its own transaction and no
        BEGIN or COMMIT is sent: two round trips fewer. Elsewhere they are the usual ones."""
        if not is_sqlite(url):
            self.statement_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work for a CLI job or a background task: commit on success."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
