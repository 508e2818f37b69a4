"""XML with one element per record (e.g. 계약 elements from a ministry's contract register).

`iterparse` streams the document; each record element is turned into a row when it ends and is
then cleared and detached from its parent, so memory holds one record, not the document.

Safety: ElementTree never fetches external entities or DTDs (no XXE), and the bundled expat
(>= 2.4) caps the amplification of internal entity expansion ("billion laughs"), so a hostile
upload cannot read local files or exhaust memory through entities.

Encodings: expat reads UTF-8, UTF-16, ISO-8859-1 and US-ASCII; a document declaring a multi-byte
legacy encoding such as EUC-KR is refused as a structure error (convert it to UTF-8 first).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pyexpat import ErrorString
from typing import BinaryIO

from connectors.formats import XmlFormat
from connectors.readers.base import FileStructureError, RawRow
from connectors.readers.text import check_required, clean


def read_xml(stream: BinaryIO, spec: XmlFormat, required: tuple[str, ...]) -> Iterator[RawRow]:
    """Yield one row per `spec.record` element, anywhere in the tree; `location` is `record N`.

    Fields are the record's child elements (local name → text) and, with `spec.attributes`, its
    attributes; a child element wins over an attribute of the same name. Namespaces are ignored.
    """
    number = 0
    outside: list[ET.Element] = []  # open elements that are not inside a record
    depth = 0  # nesting depth inside the current record, 0 when outside
    # No defusedxml in the stack: see the module docstring for why plain expat is safe here.
    events = ET.iterparse(stream, events=("start", "end"))  # noqa: S314
    while True:
        try:
            event, element = next(events)
        except StopIteration:
            return
        except ET.ParseError as error:
            line = error.position[0]
            raise FileStructureError(
                f"malformed XML: {ErrorString(error.code)}", f"line {line}"
            ) from None
        except ValueError:
            raise FileStructureError("XML in an encoding the parser cannot read") from None
        if event == "start":
            if depth:
                depth += 1
            elif _local(element.tag) == spec.record:
                depth = 1
            else:
                outside.append(element)
            continue
        if depth:
            depth -= 1
            if depth:
                continue  # a child of the record: kept until the record ends
            number += 1
            location = f"record {number}"
            fields = _fields(element, spec.attributes, location)
            if number == 1:
                check_required(fields, required, location)
            yield RawRow(number, location, fields)
        else:
            outside.pop()
        element.clear()
        if outside:
            outside[-1].remove(element)  # detach, or the root would keep every cleared record


def _fields(record: ET.Element, attributes: bool, location: str) -> dict[str, str | None]:
    fields: dict[str, str | None] = {}
    if attributes:
        fields.update((_local(name), clean(value)) for name, value in record.attrib.items())
    seen: set[str] = set()
    for child in record:
        name = _local(child.tag)
        if name in seen:
            raise FileStructureError(f"element {name} repeats within the record", location)
        seen.add(name)
        fields[name] = clean("".join(child.itertext()))
    return fields


def _local(tag: str) -> str:
    """`{urn:ns}계약` → `계약`: sources differ in namespaces, never in what a record means."""
    return tag.rpartition("}")[2]
