"""The listing-page source: the demo corpus, and every malformed input we could think of."""

import pytest

from paperradar.normalize import normalize_paper
from paperradar.sources.errors import SourceError
from paperradar.sources.pages import parse_page, read_page

ABSTRACT = ("We study a problem. We propose a method that works well in practice and in theory. "
            "Experiments on three benchmarks confirm it.")


def test_seed_pages_yield_576_distinct_papers(seed_files):
    papers = [p for f in seed_files for p in read_page(f).papers]
    assert len(papers) == 617
    ids = {normalize_paper(p).id for p in papers}
    assert len(ids) == 576


def test_38_papers_are_listed_on_more_than_one_page(seed_files):
    pages_of: dict[str, set] = {}
    for f in seed_files:
        for p in read_page(f).papers:
            pages_of.setdefault(normalize_paper(p).id, set()).add(f.name)
    assert sum(1 for pages in pages_of.values() if len(pages) > 1) == 38


def test_title_glued_to_subscribe_and_date_label(seed_files):
    page = read_page(next(f for f in seed_files if f.name.startswith("002")))
    assert page.papers[0].title.startswith("Joint inversion of Time-Lapse")
    first = read_page(seed_files[0]).papers[0]
    assert first.sightings[0].listed == "Mar 11"
    assert first.sightings[0].position == 1
    assert first.title.startswith("Forecasting Thermoacoustic")


def test_blank_lines_between_records_are_optional():
    tight = f"Subscribe\nA Title\n{ABSTRACT}\nAnother Title\n{ABSTRACT}\n".encode()
    loose = f"Subscribe\n\nA Title\n\n{ABSTRACT}\n\n\nAnother Title\n\n{ABSTRACT}\n".encode()
    assert [p.title for p in parse_page(tight, "t").papers] == [p.title for p in parse_page(loose, "l").papers] == ["A Title", "Another Title"]


def test_crlf_line_endings():
    page = parse_page(f"A Title\r\n\r\n{ABSTRACT}\r\n".encode(), "crlf.txt")
    assert page.papers[0].title == "A Title"
    assert not page.papers[0].abstract.endswith("\r")


def test_empty_file_gives_a_warning_not_a_crash():
    page = parse_page(b"", "empty.txt")
    assert page.papers == []
    assert page.warnings == ["empty.txt: no papers found"]


def test_binary_garbage_is_a_clear_error():
    with pytest.raises(SourceError, match=r"garbage.bin: binary data"):
        parse_page(bytes(range(256)) * 20, "garbage.bin")


def test_title_with_no_abstract_is_skipped_with_file_and_line():
    data = f"Lonely Title\nGood Title\n{ABSTRACT}\n".encode()
    page = parse_page(data, "p.txt")
    assert [p.title for p in page.papers] == ["Good Title"]
    assert page.warnings == ["p.txt:1: title with no abstract, skipped: 'Lonely Title'"]


def test_trailing_title_with_no_abstract():
    page = parse_page(f"T1\n{ABSTRACT}\nDangling\n".encode(), "p.txt")
    assert len(page.papers) == 1 and "p.txt:3: title with no abstract" in page.warnings[0]


def test_non_utf8_bytes_are_decoded_and_reported():
    data = "Caf\u00e9 Networks\n".encode("cp1252") + ABSTRACT.encode()
    page = parse_page(data, "latin.txt")
    assert page.papers[0].title == "Café Networks"
    assert page.warnings == ["latin.txt:1: not valid UTF-8, decoded as Windows-1252"]


def test_unreadable_file_names_the_path(tmp_path):
    with pytest.raises(SourceError, match="missing.txt: cannot read"):
        read_page(tmp_path / "missing.txt")
