"""Prebuilt Core statements run straight on asyncpg, for the hub's busiest request.

`POST /v1/eligibility/verify` runs two prebuilt statements on a connection in autocommit
(hub.auth.dependencies `StatementConnection`). Through SQLAlchemy's execution path (execution
context, cursor adaptation, greenlet hand-off, result objects) each cost about 65 µs more of
the serving process's CPU than asyncpg's own prepared statement: about a seventh of a verify
(benchmarks/RESULTS.md, issue 5). `rows` compiles a statement once with SQLAlchemy, for the
connection's dialect, applies SQLAlchemy's own bind and result processors for each column's
type, and runs it with asyncpg's `fetch` (which prepares it once per connection): the same SQL,
the same values in and out, and the same errors (as SQLAlchemy's `DBAPIError`, without
parameters).

Only for a connection in autocommit: each statement is then its own transaction, as it would
be through SQLAlchemy. On a connection inside a transaction SQLAlchemy begins lazily, on its own
first statement, so a statement run beside it would escape the transaction; `rows` refuses
that, and on any other database it runs the statement through SQLAlchemy.
"""

from __future__ import annotations

import collections
import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import asyncpg
from sqlalchemy import ClauseElement, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler


def as_sqlalchemy_error(statement: str, error: Exception) -> DBAPIError:
    """A driver's error as SQLAlchemy raises it for its own statements, so callers catch one
    kind: a broken constraint as `IntegrityError`, anything else as `DBAPIError`. Never with
    the statement's parameters (they can be personal data; tests/test_database_errors.py)."""
    integrity = isinstance(
        error, (asyncpg.IntegrityConstraintViolationError, sqlite3.IntegrityError)
    )
    kind = IntegrityError if integrity else DBAPIError
    return kind(statement, None, error, hide_parameters=True)


class _Compiled(NamedTuple):
    sql: str
    names: tuple[str, ...]
    """The bound parameters' names, in the order of the SQL's $1, $2, …"""
    binds: tuple[Callable[[Any], Any] | None, ...]
    fixed: dict[str, Any]
    """Values bound in the statement itself."""
    results: tuple[Callable[[Any], Any] | None, ...]
    row: Callable[..., tuple[Any, ...]]


@functools.lru_cache(maxsize=64)
def _compiled(statement: Executable, dialect: Dialect) -> _Compiled | None:
    """The statement ready for asyncpg; None if SQLAlchemy must render it per execution (an
    expanding IN list or a literal rendered into the SQL), which only it can do."""
    compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect))
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    names = tuple(compiled.positiontup or ())
    binds = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    columns = list(statement.selected_columns)  # type: ignore[attr-defined]
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    row = collections.namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
    fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    return _Compiled(str(compiled), names, binds, fixed, results, row)


def _in_autocommit(connection: AsyncConnection) -> bool:
    sync = connection.sync_connection
    return sync is not None and sync.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


async def rows(
    connection: AsyncConnection, statement: Executable, params: dict[str, Any]
) -> Sequence[Any]:
    """The rows of `statement` (a prebuilt one: each is compiled once and kept) with `params`,
    each a named tuple of its columns' keys."""
    plan = None
    if connection.dialect.driver == "asyncpg" and _in_autocommit(connection):
        plan = _compiled(statement, connection.dialect)
    if plan is None:
        return (await connection.execute(statement, params)).all()
    given = plan.fixed | params
    arguments = [
        given[name] if bind is None or given[name] is None else bind(given[name])
        for name, bind in zip(plan.names, plan.binds, strict=True)
    ]
    # The pooled connection this one already holds: read directly, no greenlet hand-off
    # (`get_raw_connection` does one, about 8 µs); after an invalidation SQLAlchemy reconnects.
    sync = connection.sync_connection
    pooled = (
        sync.connection
        if sync is not None and not sync.invalidated and not sync.closed
        else await connection.get_raw_connection()
    )
    driver = pooled.driver_connection
    try:
        records = await driver.fetch(plan.sql, *arguments)  # type: ignore[union-attr]
    except Exception as exc:
        raise as_sqlalchemy_error(plan.sql, exc) from exc
    results, row = plan.results, plan.row
    return [
        row(*(v if p is None or v is None else p(v) for p, v in zip(results, r, strict=True)))
        for r in records
    ]
