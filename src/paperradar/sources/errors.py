"""The one error every source raises for input it cannot read."""


class SourceError(ValueError):
    """Malformed input: says what is wrong and where (file or URL, and line or offset)."""

    def __init__(self, where: str, line: int | None, message: str):
        self.where, self.line, self.message = where, line, message
        loc = f"{where}:{line}" if line else where
        super().__init__(f"{loc}: {message}")
