"""Logs are JSON with the request id and organisation, and never carry an RRN."""

from __future__ import annotations

import json

import httpx
import pytest
import structlog

from hub import logging as hub_logging
from hub.database import Database
from tests.factories import bearer, new_client


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    "value",
    [
        "900101-1234567",
        "9001011234567",
        "resident 900101 1234567 here",
        "９００１０１－１２３４５６７",
    ],
)
def test_rrn_shaped_values_are_masked_everywhere(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    hub_logging.configure("INFO", "json")
    log = structlog.get_logger("test")
    log.info(f"event {value}", nested={"list": [value], "text": value}, plain=value)
    import logging

    logging.getLogger("third.party").warning("stdlib %s", value)
    output = capsys.readouterr().err
    records = json_lines(output)
    assert len(records) == 2
    assert "[RRN]" in output
    for digits in ("1234567", "１２３４５６７"):
        assert digits not in output


def test_long_digit_runs_that_are_not_rrns_survive(capsys: pytest.CaptureFixture[str]) -> None:
    hub_logging.configure("INFO", "json")
    structlog.get_logger("test").info("ids", order="12345678901234567890", amount=1234567)
    record = json_lines(capsys.readouterr().err)[0]
    assert record["order"] == "12345678901234567890"
    assert record["amount"] == 1234567


async def test_request_log_has_request_id_and_organisation(
    api: httpx.AsyncClient, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    client = await new_client(db)
    headers = await bearer(api, client)
    hub_logging.configure("INFO", "json")
    response = await api.get("/v1/programmes", headers=headers | {"X-Request-Id": "test-req-0001"})
    assert response.status_code == 200
    records = [r for r in json_lines(capsys.readouterr().err) if r.get("event") == "request"]
    assert records, "no request log line"
    record = records[-1]
    assert record["request_id"] == "test-req-0001"
    assert record["organisation"] == client.organisation
    assert record["client_id"] == client.client_id
    assert record["route"] == "/v1/programmes"
    assert record["status"] == 200
    assert record["level"] == "info"
    assert record["timestamp"].endswith("Z")


def test_logged_exceptions_keep_their_types_and_frames_but_not_their_messages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A driver's error repeats the row it refused (PostgreSQL's DETAIL line), a KeyError its
    key: an exception's message may be personal data, so logs carry its type and frames only."""
    hub_logging.configure("INFO", "json")

    def refuse(key: str, row: str) -> None:
        try:
            raise KeyError(key)
        except KeyError as exc:
            raise ValueError(f"DETAIL: Failing row contains {row}") from exc

    import logging

    # Built at run time: a traceback shows source lines, and these must come only as data.
    key, row = "".join(["김", "비밀"]), "(" + ", ".join(["홍길동", "11350"]) + ")"
    for logger in (structlog.get_logger("hub.api"), logging.getLogger("uvicorn.error")):
        try:
            refuse(key, row)
        except ValueError:
            logger.exception("request.failed")
    records = json_lines(capsys.readouterr().err)
    assert len(records) == 2
    for record in records:
        shown = record["exception"]
        assert "builtins.KeyError (message withheld)" in shown
        assert "builtins.ValueError (message withheld)" in shown
        assert "in refuse" in shown  # where it happened is kept
        for secret in ("김비밀", "홍길동", "11350"):
            assert secret not in shown
