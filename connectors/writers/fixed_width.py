"""Fixed-width records, padded in BYTES of the encoding as a mainframe extract is.

A value is encoded, cut to its column's width without splitting a character (a Hangul syllable
is 2 bytes in EUC-KR, 3 in UTF-8) and padded with spaces, so every record is exactly the
record length. With a declared record type the file gets a header record (type code + the
creation date, YYYYMMDD) and a trailer record (type code + the data record count, zero-padded
in the `trailer_count` slot), the completeness checks the reader enforces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from connectors.formats import FixedColumn, FixedWidthFormat

LINE_END = b"\r\n"
"""Extracts handed over from mainframes and Windows hosts end lines in CRLF; readers take both."""


def write_fixed_width(
    path: Path,
    spec: FixedWidthFormat,
    columns: tuple[str, ...],
    rows: Iterable[Mapping[str, str | None]],
    *,
    created: date | None = None,
) -> int:
    """Write header, data and trailer records; `created` dates the header (default: today, UTC)."""
    laid_out = {column.name for column in spec.columns}
    unknown = [name for name in columns if name not in laid_out]
    if unknown:
        raise ValueError(f"columns not in the fixed-width layout: {', '.join(unknown)}")
    length = _record_length(spec)
    kinds = spec.record_type
    written = 0
    with path.open("wb") as file:
        if kinds is not None and kinds.header is not None:
            record = _blank(length)
            _place(record, kinds.start, kinds.width, kinds.header, spec.encoding)
            stamp = (created or datetime.now(tz=UTC).date()).strftime("%Y%m%d")
            after = kinds.start + kinds.width
            if after + len(stamp) - 1 <= length:
                _place(record, after, len(stamp), stamp, spec.encoding)
            file.write(bytes(record) + LINE_END)
        for row in rows:
            record = _blank(length)
            if kinds is not None:
                _place(record, kinds.start, kinds.width, kinds.data, spec.encoding)
            for column in spec.columns:
                value = row.get(column.name)
                if value is not None:
                    _place(record, column.start, column.width, value, spec.encoding)
            file.write(bytes(record) + LINE_END)
            written += 1
        if kinds is not None and kinds.trailer is not None:
            record = _blank(length)
            _place(record, kinds.start, kinds.width, kinds.trailer, spec.encoding)
            if kinds.trailer_count is not None:
                _place_count(record, kinds.trailer_count, written)
            file.write(bytes(record) + LINE_END)
    return written


def _record_length(spec: FixedWidthFormat) -> int:
    if spec.record_length is not None:
        return spec.record_length
    slots = [(c.start, c.width) for c in spec.columns]
    if spec.record_type is not None:
        slots.append((spec.record_type.start, spec.record_type.width))
        if spec.record_type.trailer_count is not None:
            count = spec.record_type.trailer_count
            slots.append((count.start, count.width))
    return max(start + width - 1 for start, width in slots)


def _blank(length: int) -> bytearray:
    return bytearray(b" " * length)


def _place(record: bytearray, start: int, width: int, value: str, encoding: str) -> None:
    """Encode `value` into its slot: cut at a character boundary, pad with spaces."""
    encoded = value.encode(encoding)
    if len(encoded) > width:
        kept = bytearray()
        for char in value:
            piece = char.encode(encoding)
            if len(kept) + len(piece) > width:
                break
            kept += piece
        encoded = bytes(kept)
    if start - 1 + width > len(record):
        raise ValueError(f"slot at byte {start} (width {width}) ends past the record length")
    record[start - 1 : start - 1 + width] = encoded.ljust(width, b" ")


def _place_count(record: bytearray, slot: FixedColumn, count: int) -> None:
    digits = str(count).zfill(slot.width)
    if len(digits) > slot.width:
        raise ValueError(f"{count} data records do not fit the {slot.width}-digit trailer count")
    record[slot.start - 1 : slot.start - 1 + slot.width] = digits.encode("ascii")
