"""The one error the catalogue loader raises.

Rules are data: a broken rule file must stop start-up with a message an official can act on,
naming the file, the entry and the line, never a bare pydantic or YAML traceback.
"""

from __future__ import annotations


class CatalogueError(Exception):
    """The catalogue could not be loaded. ``problems`` lists every problem found, each prefixed
    with the file (and entry, where there is one) it concerns."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            listed = "\n".join(f"  - {problem}" for problem in self.problems)
            message = f"{len(self.problems)} problems in the catalogue:\n{listed}"
        super().__init__(message)
