"""A listing page cut short (`head -c`, an interrupted save) never replaces stored abstracts.

Two rules: a text that is the stored one cut short is never taken over it (unless a later arXiv
version says so), and the last abstract of a page file that stops mid-line, without its final
newline or full stop, is suspect: it can add a paper but not change a stored one.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.ingest import ingest
from paperradar.models import Paper
from paperradar.sources.pages import parse_page, read_page

runner = CliRunner()
ABSTRACT = ("We study a problem. We propose a method that works well in practice and in theory. "
            "Experiments on three benchmarks confirm it.")
CAFE = ("Caf\u00e9 networks route coffee orders. We model them as queues. We show that na\u00efve "
        "routing is optimal for small caf\u00e9s and r\u00e9sum\u00e9 the proof in \u00e9l\u00e9gant terms.")


def test_the_issue_head_c_3000_of_a_demo_page_updates_nothing(tmp_path, seed_files):
    def cli(*args):
        return runner.invoke(app, ["-d", str(tmp_path / "data"), *map(str, args)])

    cut = tmp_path / "t.txt"
    cut.write_bytes(seed_files[0].read_bytes()[:3000])
    assert cli("ingest", "pages", seed_files[0], "--json").exit_code == 0
    r = cli("ingest", "pages", cut, "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (0, 0, 2)
    [warning] = summary["skipped_reasons"]
    assert warning.startswith("t.txt:17: the file ends without a newline, so this abstract may be cut short")
    full = read_page(seed_files[0]).papers[1]
    shown = json.loads(cli("show", full.id, "--json").stdout)
    assert shown["summary"] == full.abstract and shown["summary"].endswith(".")


def test_a_cut_page_that_ends_with_a_newline_is_still_no_replacement(tmp_path, store):
    """`head -c 3000 page > t.txt; echo >> t.txt`: complete by its newline, but a prefix."""
    ingest(store, parse_page(f"A Title\n{ABSTRACT}\n".encode(), "full.txt").papers)
    cut = parse_page(f"A Title\n{ABSTRACT[:100]} \n".encode(), "cut.txt")
    assert cut.warnings == [] and not cut.papers[0].partial
    report = ingest(store, cut.papers)
    assert (report.updated, report.unchanged) == (0, 1)
    assert store.get_paper(cut.papers[0].id).abstract == ABSTRACT


def test_a_cut_inside_a_utf8_character_is_suspect_though_no_prefix(tmp_path, store):
    """Cut between the two bytes of an "é": the line is no UTF-8 any more and reads as
    Windows-1252 ("CafÃ©"), so it is not a prefix; that the file stops mid-line is what tells."""
    data = f"A Title\n{CAFE}".encode()
    ingest(store, parse_page(data + b"\n", "full.txt").papers)
    cut_at = data.rindex("\u00e9".encode()) + 1
    page = parse_page(data[:cut_at], "cut.txt")
    assert page.papers[0].partial and page.papers[0].abstract.startswith("CafÃ©")
    assert page.warnings[-1].startswith("cut.txt:2: the file ends without a newline")
    report = ingest(store, page.papers)
    assert (report.updated, report.unchanged) == (0, 1)
    assert store.get_paper(page.papers[0].id).abstract == CAFE


def test_a_suspect_last_record_still_adds_a_new_paper(store):
    page = parse_page(f"First\n{ABSTRACT}\nSecond\n{ABSTRACT[:-20]}".encode(), "new.txt")
    assert [p.partial for p in page.papers] == [False, True]
    report = ingest(store, page.papers)
    assert report.added == 2 and store.get_paper(page.papers[1].id).abstract == ABSTRACT[:-20]
    # the complete page, later, fills in the whole abstract
    report = ingest(store, parse_page(f"First\n{ABSTRACT}\nSecond\n{ABSTRACT}\n".encode(), "new.txt").papers)
    assert report.updated == 1 and store.get_paper(page.papers[1].id).abstract == ABSTRACT


def test_saved_pages_without_a_final_newline_but_a_final_full_stop_are_complete(seed_files):
    for f in seed_files:
        assert not f.read_bytes().endswith(b"\n")  # how the demo pages were saved
        page = read_page(f)
        assert not any(p.partial for p in page.papers), f.name
        assert not any("newline" in w for w in page.warnings), f.name


def test_a_prefix_never_replaces_a_text_whatever_its_spacing(store):
    store.upsert_papers([Paper(id="p1", title="A Title", abstract="One  two\nthree four.", version=None)])
    result = store.upsert_papers([Paper(id="p1", title="A Title", abstract="One two three")])
    assert (result.updated, result.unchanged) == (0, 1)
    assert store.get_paper("p1").abstract == "One  two\nthree four."
    # a longer or different text from a record as new as the stored one still replaces it
    store.upsert_papers([Paper(id="p1", title="A Title", abstract="One two three four. Five.")])
    assert store.get_paper("p1").abstract == "One two three four. Five."


def test_a_later_arxiv_version_may_shorten_its_abstract(store):
    """arXiv's formats cannot arrive cut without being malformed; a v2 can drop a sentence."""
    v1 = Paper(id="2401.00001", arxiv_id="2401.00001", version=1, title="T", abstract="Results. Code at x.org.")
    store.upsert_papers([v1])
    same = store.upsert_papers([v1.replace(abstract="Results.")])
    assert (same.updated, store.get_paper("2401.00001").abstract) == (0, "Results. Code at x.org.")
    later = store.upsert_papers([v1.replace(version=2, abstract="Results.")])
    assert (later.updated, store.get_paper("2401.00001").abstract) == (1, "Results.")
