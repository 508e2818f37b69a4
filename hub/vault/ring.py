"""The key set in force for a running process, re-read whenever its file changes.

`hub keys rotate` replaces the file atomically (a new inode), so every `hub serve` process
picks the new primary key up on its next request: rotation needs no restart (DESIGN.md).
"""

from __future__ import annotations

from pathlib import Path

from hub.vault.keyset import KeySet


class KeyRing:
    """Holds the loaded `KeySet` and reloads it when the file's identity or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keyset: KeySet | None = None
        self._stamp: tuple[int, int, int] | None = None

    def current(self) -> KeySet:
        """The key set as the file now says; raises `FileNotFoundError` when it is missing."""
        stat = self.path.stat()
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._keyset is None or stamp != self._stamp:
            self._keyset = KeySet.load(self.path)
            self._stamp = stamp
        return self._keyset
