"""JSON Lines and JSON arrays of objects, both streamed.

A JSON array export can be gigabytes, so it is never `json.load`ed: the text is decoded in
64 KiB chunks and `JSONDecoder.raw_decode` pulls one element at a time from a sliding buffer.
Numbers keep the text they were written with (`12` → "12", `0.50` → "0.50") because typing is
the mapping's job; booleans become "true"/"false"; a nested object or array in a field becomes
its JSON text.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from connectors.formats import JsonArrayFormat
from connectors.readers.base import FileStructureError, RawRow
from connectors.readers.text import binary_lines, check_required, clean

CHUNK_CHARS = 64 * 1024
MAX_VALUE_CHARS = 1 << 20
"""Largest single record (or top-level member) the array reader buffers: a malformed or hostile
file must not make it read everything while looking for the end of one element."""

_DECODER = json.JSONDecoder(parse_float=Decimal)
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def read_json_lines(stream: BinaryIO, required: tuple[str, ...]) -> Iterator[RawRow]:
    """One object per line, UTF-8 (a BOM is tolerated); blank lines are skipped."""
    number = 0
    for line_number, raw in enumerate(binary_lines(stream), start=1):
        location = f"line {line_number}"
        try:
            text = raw.decode("utf-8-sig" if line_number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise FileStructureError("not valid UTF-8 text", location) from None
        if not text.strip():
            continue
        try:
            value = _DECODER.decode(text)
        except (ValueError, RecursionError):
            raise FileStructureError("not valid JSON", location) from None
        if not isinstance(value, dict):
            raise FileStructureError("not a JSON object", location)
        number += 1
        fields = _fields(value)
        if number == 1:
            check_required(fields, required, location)
        yield RawRow(number, f"record {number}", fields)


def read_json_array(
    stream: BinaryIO, spec: JsonArrayFormat, required: tuple[str, ...]
) -> Iterator[RawRow]:
    """A top-level array of objects, or with `records_key` an object holding that array.

    With `records_key`, the other top-level members (a count, metadata) may come before or after
    the array; each is parsed and discarded, so each must stay under MAX_VALUE_CHARS.
    """
    text = _JsonText(stream)
    first = text.peek()
    if not first:
        raise FileStructureError("empty file")
    if spec.records_key is None:
        if first != "[":
            raise FileStructureError("top level is not a JSON array")
        yield from _records(text, required)
    else:
        if first != "{":
            raise FileStructureError("top level is not a JSON object")
        yield from _records_under_key(text, spec.records_key, required)
    if text.peek():
        raise FileStructureError("unexpected data after the JSON document")


def _records_under_key(text: _JsonText, key: str, required: tuple[str, ...]) -> Iterator[RawRow]:
    text.take("{")
    found = False
    members = 0
    while True:
        where = "top level"
        char = text.peek(where)
        if char == "}":
            text.take("}")
            break
        if members:
            text.expect(",", where)
        name = text.value(where)
        if not isinstance(name, str):
            raise FileStructureError("malformed JSON: a member name is not a string", where)
        text.expect(":", where)
        members += 1
        if name == key and not found:
            found = True
            if text.peek(where) != "[":
                raise FileStructureError(f"top-level key {key} does not hold an array")
            yield from _records(text, required)
        else:
            text.value(where)  # a member we do not need (a count, metadata)
    if not found:
        raise FileStructureError(f"no top-level key {key}")


def _records(text: _JsonText, required: tuple[str, ...]) -> Iterator[RawRow]:
    text.take("[")
    number = 0
    while True:
        location = f"record {number + 1}"
        char = text.peek(location)
        if not char:
            raise FileStructureError("truncated JSON: the array is not closed", location)
        if char == "]":
            text.take("]")
            return
        if number:
            text.expect(",", location)
        value = text.value(location, "truncated JSON: the array is not closed")
        if not isinstance(value, dict):
            raise FileStructureError("not a JSON object", location)
        number += 1
        fields = _fields(value)
        if number == 1:
            check_required(fields, required, location)
        yield RawRow(number, location, fields)


class _JsonText:
    """A sliding window over the decoded text: enough to hold the element being parsed."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._buffer = ""
        self._position = 0
        self._ended = False

    def _fill(self, where: str) -> bool:
        """Read one more chunk; False at the end of the stream."""
        if self._ended:
            return False
        chunk = self._stream.read(CHUNK_CHARS)
        try:
            text = self._decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise FileStructureError("not valid UTF-8 text", where) from None
        self._ended = not chunk
        self._buffer = self._buffer[self._position :] + text
        self._position = 0
        return True

    def peek(self, where: str = "top level") -> str:
        """The next non-whitespace character, or "" at the end of the text."""
        while True:
            self._position = _WHITESPACE.match(self._buffer, self._position).end()  # type: ignore[union-attr]
            if self._position < len(self._buffer):
                return self._buffer[self._position]
            if not self._fill(where):
                return ""

    def take(self, char: str) -> None:
        """Consume `char`, which the caller has just peeked."""
        self._position += len(char)

    def expect(self, char: str, where: str) -> None:
        found = self.peek(where)
        if not found:
            raise FileStructureError("truncated JSON: the document ends early", where)
        if found != char:
            raise FileStructureError(f"malformed JSON: expected {char!r}", where)
        self.take(char)

    def value(self, where: str, truncated: str = "truncated JSON: the document ends early") -> Any:
        """Decode the next JSON value, reading more text while it is cut off by the window.

        `truncated` is the message for a file that ends inside the value.
        """
        if not self.peek(where):
            raise FileStructureError(truncated, where)
        cut_off = False
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buffer, self._position)
            except json.JSONDecodeError as error:
                cut_off = error.pos >= len(self._buffer.rstrip()) or error.msg.startswith(
                    "Unterminated string"
                )
                end, value = -1, None
            except RecursionError:
                raise FileStructureError("JSON nested too deeply", where) from None
            # A value that reaches the end of the window may be a number cut in two: read on.
            if end >= 0 and (end < len(self._buffer) or self._ended):
                self._position = end
                return value
            if len(self._buffer) - self._position > MAX_VALUE_CHARS:
                raise FileStructureError(
                    f"malformed JSON or a value over {MAX_VALUE_CHARS} characters", where
                )
            if not self._fill(where):
                raise FileStructureError(truncated if cut_off else "malformed JSON", where)


def _fields(record: dict[str, Any]) -> dict[str, str | None]:
    return {str(name): _text(value) for name, value in record.items()}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=_plain_number)


def _plain_number(value: Any) -> Any:
    """Let json.dumps write the Decimals we parsed into nested values as numbers again."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)
