"""A failing statement's error never carries the values bound to it (hub.database).

SQLAlchemy puts a statement's parameters into its exception text by default, and an
unexpected error is logged with its traceback (hub.api.problems): the values would reach the
logs. They can be personal data (a name, a reason a person gave, a blind-index digest).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.database import Database

SECRET = "김비밀-900101"


async def test_a_failed_statement_does_not_show_its_parameters(db: Database) -> None:
    with pytest.raises(DBAPIError) as failure:
        async with db.transaction() as session:
            await session.execute(
                text("SELECT name FROM no_such_table WHERE name = :name"), {"name": SECRET}
            )
    shown = str(failure.value)
    assert "no_such_table" in shown  # the statement still says what failed
    assert SECRET not in shown
