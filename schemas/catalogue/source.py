"""Reading one catalogue YAML file into raw entries that remember their line numbers.

PyYAML's safe loader is used in two steps (compose, then construct) so that each list entry
keeps the line it starts on for error messages. Duplicate mapping keys, which PyYAML silently
resolves to the last value, are rejected: in a rule file a repeated key is always a mistake.
The parser is libyaml's (PyYAML's C loader) where PyYAML was built with it: the catalogue
loads in 0.03 s instead of 0.18 s, which every process that maps a large file pays at its
start (hub.ingest.mapping_process; benchmarks/RESULTS.md, issue 3).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from schemas.catalogue.errors import CatalogueError

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml: the same loader in pure Python
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One list entry of a catalogue file before validation."""

    file: str
    index: int
    """1-based position in the list."""
    line: int
    """1-based line the entry starts on."""
    data: Any

    @property
    def label(self) -> str:
        """How messages name the entry: ``entry 7 (code MOHW-FOO)``."""
        if isinstance(self.data, dict):
            for key in ("code", "id"):
                value = self.data.get(key)
                if isinstance(value, str):
                    return f"entry {self.index} ({key} {value})"
        return f"entry {self.index}"

    def problem(self, message: str) -> str:
        """A problem message located at this entry."""
        return f"{self.file}, line {self.line}: {self.label}: {message}"


class _StrictLoader(_SafeLoader):
    """The safe loader, refusing duplicate keys in a mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key_node.value!r}",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _parse(path: Path, name: str) -> tuple[Node | None, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError([f"{name}: file is missing from {path.parent}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError([f"{name}: cannot be read as UTF-8 text ({exc})"]) from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = "" if mark is None else f", line {mark.line + 1}, column {mark.column + 1}"
        detail = ": ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise CatalogueError([f"{name}{where}: invalid YAML: {detail}"]) from None
    except yaml.YAMLError as exc:
        raise CatalogueError([f"{name}: invalid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    return node, data


def read_entries(directory: Path, name: str, key: str) -> list[RawEntry]:
    """The entries of ``directory/name``, a mapping whose single key ``key`` holds a list."""
    node, data = _parse(directory / name, name)
    if not isinstance(data, dict) or set(data) != {key}:
        raise CatalogueError([f"{name}: expected a mapping with the single key '{key}'"])
    items = data[key]
    if not isinstance(items, list) or not items:
        raise CatalogueError([f"{name}: '{key}' must be a non-empty list"])
    assert isinstance(node, MappingNode)
    sequence = next(value for k, value in node.value if getattr(k, "value", None) == key)
    assert isinstance(sequence, SequenceNode)
    return [
        RawEntry(file=name, index=i, line=item_node.start_mark.line + 1, data=item)
        for i, (item_node, item) in enumerate(zip(sequence.value, items, strict=True), start=1)
    ]
