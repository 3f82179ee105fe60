"""The web box: HTML pages, the JSON API and feeds, served by FastAPI."""
