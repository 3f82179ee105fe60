"""The one exception every source parser raises on malformed input.

It names what was being read and where, so the CLI can print one line and the harvest can log
which page or line was bad without a traceback.
"""

from __future__ import annotations


class SourceError(Exception):
    """Malformed input: `where` is a path or URL, `at` a line number or byte offset (0 if unknown)."""

    def __init__(self, where: str, at: int, message: str):
        self.where = str(where)
        self.at = at
        self.message = message
        super().__init__(f"{self.where}:{at}: {message}" if at else f"{self.where}: {message}")
