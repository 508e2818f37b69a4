"""Instants on the wire are RFC 3339 text with an offset, as the OpenAPI document says
(`format: date-time`).

pydantic's lax mode would also take a number (seconds since 1970) or a numeric string for a
datetime, so `?until=0.5` quietly meant one instant in 1970; the contract test found it. A
client that sends anything but RFC 3339 text gets a 422 naming the field instead.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339_text(value: object) -> object:
    if isinstance(value, dt.datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise ValueError("not an RFC 3339 date-time with an offset, e.g. 2026-01-31T09:00:00+09:00")


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]
