"""Errors the embedding package raises: one line each, saying what went wrong and how to fix it."""

from __future__ import annotations


class EmbedError(RuntimeError):
    """The embedding model cannot be used (not installed, wrong weights, unknown name, bad cache)."""
