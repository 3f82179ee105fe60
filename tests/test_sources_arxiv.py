"""The arXiv parsers (OAI-PMH arXiv / arXivRaw, API Atom, snapshot JSONL, HF daily) and the
normalization they share, on fixture files written from the formats' documentation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from paperradar.models import Sighting
from paperradar.normalize import clean_text, normalize_paper, parse_arxiv_id, tex_to_unicode
from paperradar.models import Paper
from paperradar.sources.arxiv_atom import parse_feed
from paperradar.sources.arxiv_common import rfc822_date, split_authors
from paperradar.sources.arxiv_jsonl import iter_snapshot
from paperradar.sources.arxiv_oai import OaiError, parse_list_records
from paperradar.sources.arxiv_sets import set_spec
from paperradar.sources.errors import SourceError
from paperradar.sources.hf_daily import parse_daily_papers
from paperradar.harvest.polite import retry_after_seconds

FIX = Path(__file__).parent / "fixtures"


def oai(name: str) -> bytes:
    return (FIX / "oai" / name).read_bytes()


@pytest.mark.parametrize("tex, text", [
    (r"C. Bal\'azs", "C. Balázs"),
    (r"Schr{\"o}dinger", "Schrödinger"),
    (r"Schr\"{o}dinger", "Schrödinger"),
    (r"Erd\H{o}s and \v{C}ech", "Erdős and Čech"),
    (r"\v Cech", "Čech"),
    (r"Fran\c{c}ois", "François"),
    (r"na\"{\i}ve, \'\i", "naïve, í"),
    (r"Stra\ss e, J\o rgensen, {\o}ster, \aa ngstr\"om", "Straße, Jørgensen, øster, ångström"),
    (r"Ko\l{}odziej and \L{}ukasz", "Kołodziej and Łukasz"),
    (r"L'H\^opital \`a la Pi\~{n}a", "L'Hôpital à la Piña"),
    (r"R\&D at 50\%", "R&D at 50%"),
    # math and other commands are left alone
    (r"$\alpha \cdot \vec{v}$, $\"x$ and \textbf{bold} \lambda", r"$\alpha \cdot \vec{v}$, $\"x$ and \textbf{bold} \lambda"),
    ("already Unicode: Zoë", "already Unicode: Zoë"),
])
def test_tex_accents_become_unicode_once(tex, text):
    assert tex_to_unicode(tex) == text
    assert tex_to_unicode(text) == text


def test_normalize_converts_tex_only_when_asked():
    paper = Paper(title=r"G\"odel  numbering", abstract="a\n b", authors=[r"Kurt G\"odel"], arxiv_id="2401.00001v3")
    assert normalize_paper(paper, tex=True).title == "Gödel numbering"
    assert normalize_paper(paper, tex=True).authors == ["Kurt Gödel"]
    assert normalize_paper(paper).title == r"G\"odel numbering"  # a Unicode source keeps its backslash
    assert normalize_paper(paper).version == 3 and normalize_paper(paper).id == "2401.00001"


@pytest.mark.parametrize("text", [
    "  We study\nthings.\n", "a\n\nb", "a \n b", "tab\there", "nb\u00a0sp", "ideo\u3000space", "nul\x00led",
    "line\u2028sep", "clean already", "", "   ", "\n", "é \n é",
])
def test_clean_text_collapses_every_kind_of_whitespace(text):
    assert clean_text(text) == " ".join(text.replace("\x00", "").split())


@pytest.mark.parametrize("ref, expected", [
    ("2401.01234", ("2401.01234", None)),
    ("2401.01234v2\n", ("2401.01234", 2)),
    (" 2401.01234 ", ("2401.01234", None)),
    ("2401.01234v2", ("2401.01234", 2)),
    ("arXiv:0704.0001", ("0704.0001", None)),
    ("hep-th/9901001", ("hep-th/9901001", None)),
    ("math.GT/0309136v1", ("math.GT/0309136", 1)),
    ("https://arxiv.org/abs/2401.01234v2", ("2401.01234", 2)),
    ("http://export.arxiv.org/abs/hep-th/9901001v3", ("hep-th/9901001", 3)),
    ("https://arxiv.org/pdf/2401.01234v1.pdf", ("2401.01234", 1)),
    ("https://arxiv.org/pdf/2401.01234", ("2401.01234", None)),
    ("not an id", None),
])
def test_arxiv_ids_and_urls(ref, expected):
    assert parse_arxiv_id(ref) == expected


def test_oai_arxiv_format_page():
    page = parse_list_records(oai("arXiv_cs_1.xml"), "page1", ref="cs")
    assert page.token == "cs-arXiv|3" and page.complete_list_size == 6 and page.cursor == 0
    assert page.response_date == "2024-01-10T03:12:45Z"
    first, second, old = page.papers
    assert first.id == first.arxiv_id == "2401.00001" and first.version is None
    assert first.title == "Gradient Inversion Attacks on Federated Learning: a Survey"
    assert first.authors == ["Csaba Balázs", "René Schröder Jr", "Pavel M. Nadolsky"]
    assert first.categories == ["cs.LG", "cs.CR"] and first.primary_category == "cs.LG"
    assert first.published == first.updated == dt.date(2024, 1, 1)
    assert first.comments == "12 pages, 3 figures"
    assert first.abstract.startswith("We survey attacks") and "\n" not in first.abstract
    assert r"$\ell_2$" in first.abstract  # math stays TeX
    assert first.sightings == [Sighting("oai", "cs")]
    assert second.authors == ["Paul Erdős", "Eduard Čech"]
    assert (second.published, second.updated) == (dt.date(2024, 1, 2), dt.date(2024, 1, 4))
    assert second.doi == "10.5555/jmlr.2024.0002"  # the first of two DOIs, lower-cased
    assert old.id == "cs/0112017" and old.authors == ["Kläus Müller"]


def test_oai_deleted_record_and_last_page():
    middle = parse_list_records(oai("arXiv_cs_2.xml"))
    assert [p.id for p in middle.papers] == ["2401.00004"]
    assert middle.deleted == ["2312.09999"]
    last = parse_list_records(oai("arXiv_cs_3.xml"))
    assert last.token is None and last.cursor == 5 and last.complete_list_size == 6


def test_oai_arxivraw_versions_and_author_line():
    page = parse_list_records(oai("arXivRaw_cs_1.xml"))
    survey, strings = page.papers
    assert survey.version == 2
    assert survey.published == dt.date(2024, 1, 1)  # v1's date
    assert survey.updated == dt.date(2024, 1, 31)
    assert survey.authors == ["Csaba Balázs", "René Schröder Jr", "Pavel M. Nadolsky"]  # affiliation dropped
    assert strings.id == "hep-th/9901001" and strings.version == 1
    assert strings.authors == ["A. Author", "B. Bauthor", "C. Cauthor"]
    assert strings.journal_ref == "Nucl. Phys. B 1 (1999) 1"
    assert page.token is None  # an empty resumptionToken element ends the list


def test_oai_errors_are_typed():
    with pytest.raises(OaiError) as no_records:
        parse_list_records(oai("error_noRecordsMatch.xml"))
    assert no_records.value.code == "noRecordsMatch"
    assert no_records.value.response_date == "2024-03-01T02:00:00Z"
    with pytest.raises(OaiError) as expired:
        parse_list_records(oai("error_badResumptionToken.xml"))
    assert expired.value.code == "badResumptionToken"


def test_oai_malformed_pages_raise_source_errors():
    with pytest.raises(SourceError, match=r"page\.xml:\d+: malformed XML"):
        parse_list_records(oai("arXiv_cs_1.xml")[:900], "page.xml")
    with pytest.raises(SourceError, match="not an OAI-PMH response"):
        parse_list_records(b"<html><body>Service unavailable</body></html>", "x")
    with pytest.raises(SourceError, match="neither ListRecords nor error"):
        parse_list_records(b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>x</responseDate></OAI-PMH>', "x")


def test_oai_bad_record_is_reported_not_fatal():
    body = oai("arXiv_cs_3.xml").replace(b"<title>Layer Normalization Revisited</title>", b"<title> </title>")
    page = parse_list_records(body, "p3")
    assert page.papers == [] and len(page.errors) == 1
    assert "2401.00006 lacks an id or a title" in str(page.errors[0])


def test_atom_feed_entries():
    feed = parse_feed((FIX / "arxiv_api" / "entries.xml").read_bytes())
    rag, strings, third = feed.papers
    assert rag.id == "2401.01234" and rag.version == 2
    assert rag.title == "Retrieval-Augmented Generation for Naïve Users"
    assert rag.authors == ["José García", "Zoë Smith"]
    assert rag.published == dt.date(2024, 1, 3) and rag.updated == dt.date(2024, 2, 10)
    assert rag.primary_category == "cs.CL" and rag.categories == ["cs.CL", "cs.IR"]
    assert rag.doi == "10.1234/rag.2024" and rag.journal_ref == "Proc. RAG 2024"
    assert rag.comments == "v2: more baselines"
    assert r"$O(n \log n)$" in rag.abstract
    assert strings.id == "hep-th/9901001" and third.id == "2312.00042"
    assert feed.errors == []


def test_atom_error_entry_names_its_id():
    body = (FIX / "arxiv_api" / "error.xml").read_bytes().replace(b"{ID}", b"1234.12345")
    feed = parse_feed(body)
    assert feed.papers == []
    assert [(e.arxiv_id, e.message) for e in feed.errors] == [("1234.12345", "incorrect id format for 1234.12345")]
    with pytest.raises(SourceError, match="not an Atom feed"):
        parse_feed(b"<rss/>", "api")


def test_snapshot_lines_papers_and_errors():
    items = list(iter_snapshot(FIX / "jsonl" / "snapshot.jsonl"))
    papers = {line: p for line, _, p in items if not isinstance(p, SourceError)}
    errors = {line: e for line, _, e in items if isinstance(e, SourceError)}
    assert sorted(papers) == [1, 2, 3, 7] and sorted(errors) == [4, 5]  # line 6 is blank
    assert "snapshot.jsonl:4: invalid JSON" in str(errors[4])
    assert "snapshot.jsonl:5: missing or invalid arXiv id 'not-an-id'" in str(errors[5])
    first = papers[1]
    assert first.id == "0704.0001" and first.version == 2
    assert first.published == dt.date(2007, 4, 2) and first.updated == dt.date(2007, 7, 24)
    assert first.authors[0] == "C. Balázs"
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert first.sightings == [Sighting("jsonl", "snapshot.jsonl")]
    assert papers[2].authors == ["A. Author", "B. Bauthor", "C. Cauthor"]  # no authors_parsed: split the line
    assert papers[3].authors == ["Csaba Balázs", "René Schröder Jr", "Pavel M. Nadolsky"]
    assert papers[7].version == 3 and r"\emph{emphasis}" in papers[7].abstract


def test_snapshot_resumes_from_an_offset():
    items = list(iter_snapshot(FIX / "jsonl" / "snapshot.jsonl"))
    line, offset, _ = items[1]
    rest = list(iter_snapshot(FIX / "jsonl" / "snapshot.jsonl", offset, line))
    assert [i[0] for i in rest] == [i[0] for i in items[2:]]
    assert rest[-1][1] == (FIX / "jsonl" / "snapshot.jsonl").stat().st_size


def test_hf_daily_papers():
    papers = parse_daily_papers((FIX / "hf" / "daily_papers.json").read_bytes(), "daily.json")
    assert [p.id for p in papers] == ["2401.01234", "2401.00006"]
    assert papers[0].authors == ["José García", "Zoë Smith"]
    assert papers[0].sightings == [Sighting("hf-daily", "daily.json", 1, "2024-01-05")]
    assert papers[0].published == dt.date(2024, 1, 3)
    with pytest.raises(SourceError, match=r"daily.json:1: invalid JSON"):
        parse_daily_papers(b"[{", "daily.json")
    with pytest.raises(SourceError, match="item 1 has no arXiv id or title"):
        parse_daily_papers(b'[{"paper": {"title": "x"}}]', "daily.json")


def test_helpers():
    assert rfc822_date("Mon, 2 Apr 2007 19:18:42 GMT") == dt.date(2007, 4, 2)
    assert rfc822_date("2 Apr 2007 19:18:42 +0000") == dt.date(2007, 4, 2)
    assert split_authors("A. One (MIT), B. Two (1 and 2), C. Three, Jr. and D. Four") == [
        "A. One", "B. Two", "C. Three Jr.", "D. Four"]
    assert [set_spec(s) for s in ("cs", "cs.LG", "hep-th", "astro-ph.GA", "physics:hep-th", "physics", "stat.ML")] == [
        "cs", "cs:cs:LG", "physics:hep-th", "physics:astro-ph:GA", "physics:hep-th", "physics", "stat:stat:ML"]
    with pytest.raises(ValueError, match="unknown arXiv category"):
        set_spec("nonsense.XX")


def test_retry_after_header_values():
    now = dt.datetime(2024, 1, 10, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert retry_after_seconds("0", now) == 0.0
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Wed, 10 Jan 2024 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 10 Jan 2024 11:00:00 GMT", now) == 0.0  # in the past: now
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None
