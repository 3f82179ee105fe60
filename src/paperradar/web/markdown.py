"""A paper as Markdown (`/papers/{id}.md`, what `huggingface_hub`'s `read_paper` fetches): title,
authors, dates, the abstract and links, for reading in a terminal or handing to a tool."""

from __future__ import annotations

import re

from ..models import Paper

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _text(value: str) -> str:
    """Plain text that Markdown shows as it is (no links, emphasis or HTML from upstream data)."""
    return _SPECIAL.sub(r"\\\1", value)


def paper_markdown(p: Paper, listing, public_url: str) -> str:
    lines = [f"# {_text(p.title)}", ""]
    if p.authors:
        lines += [f"**Authors:** {_text(', '.join(p.authors))}", ""]
    facts = []
    if p.arxiv_id:
        facts.append(f"arXiv: {p.arxiv_id}" + (f"v{p.version}" if p.version else ""))
    if p.published:
        facts.append(f"published {p.published.isoformat()}")
    if listing is not None:
        facts.append(f"listed {listing.day.isoformat()}")
        facts.append(f"{listing.points} upvotes")
    if p.categories:
        facts.append("categories " + ", ".join(_text(c) for c in p.categories))
    if facts:
        lines += [" · ".join(facts), ""]
    lines += ["## Abstract", "", _text(p.abstract) or "(no abstract)", "", "## Links", ""]
    links = [("paperradar", f"{public_url}/papers/{p.id}")]
    links += [(name, url) for name, url in (("arXiv", p.abs_url), ("PDF", p.pdf_url)) if url]
    if listing is not None:
        links += [(name, url) for name, url in (("Code", listing.github_repo), ("Project page", listing.project_page)) if url]
    lines += [f"- {name}: <{url}>" for name, url in links if url.startswith(("https://", "http://"))]
    return "\n".join(lines) + "\n"
