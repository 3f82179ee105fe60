"""Errors a person can act on. The CLI prints their message as one line; the web returns a 4xx."""


class UserError(Exception):
    """Something the user asked for cannot be done; the message says what and why."""
