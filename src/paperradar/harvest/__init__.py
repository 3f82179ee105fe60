"""Polite fetching and the jobs that fill the store: OAI-PMH harvest, API lookups, file imports,
the daily update and its worker. Parsing lives in `sources/`; SQL lives in `store/`."""

from .arxiv_api import AddResult, add_ids
from .arxiv_oai import harvest_arxiv
from .daily import run_update, run_worker
from .files import import_hf_daily, import_jsonl
from .jobs import Counts
from .polite import FetchError, PoliteClient

__all__ = ["AddResult", "Counts", "FetchError", "PoliteClient", "add_ids", "harvest_arxiv",
           "import_hf_daily", "import_jsonl", "run_update", "run_worker"]
