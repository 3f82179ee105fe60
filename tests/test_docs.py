"""Every setting is documented (datasette's test_docs): its environment name, `PAPERRADAR_NAME`
or `NAME` in a table headed `PAPERRADAR_…`, appears in the README or a page of docs/."""

import re
from pathlib import Path

from paperradar.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    text = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    missing = [name for name in Settings.model_fields if not re.search(rf"\b(PAPERRADAR_)?{name.upper()}\b", text)]
    assert missing == [], f"settings named nowhere in README.md or docs/: {missing}"
