"""XML: `<records>` holding one `spec.record` element per row, a child element per column.

The root is always `<records>`: the reader finds record elements anywhere in the tree, so the
root's name carries no meaning, and one fixed name keeps the writer free of naming rules. Values
go into child elements (also when the spec reads attributes, which it does in addition);
None values are omitted, as sources leave absent fields out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from xml.sax.saxutils import escape

from connectors.formats import XmlFormat

ROOT = "records"
_NAME = re.compile(r"[^\W\d][\w.\-]*")
"""A conservative XML element name (letters, Hangul included, then letters, digits, . - _)."""
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_xml(
    path: Path,
    spec: XmlFormat,
    columns: tuple[str, ...],
    rows: Iterable[Mapping[str, str | None]],
) -> int:
    for name in (spec.record, *columns):
        if not _NAME.fullmatch(name) or name.lower().startswith("xml"):
            raise ValueError(f"{name!r} cannot be an XML element name")
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as file:
        file.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<{ROOT}>\n')
        for row in rows:
            parts = [f"  <{spec.record}>"]
            for name in columns:
                value = row.get(name)
                if value is None:
                    continue
                if _NOT_XML_TEXT.search(value):
                    raise ValueError(
                        f"data row {written + 1} column {name} holds a character XML cannot carry"
                    )
                parts.append(f"<{name}>{escape(value)}</{name}>")
            parts.append(f"</{spec.record}>\n")
            file.write("".join(parts))
            written += 1
        file.write(f"</{ROOT}>\n")
    return written
