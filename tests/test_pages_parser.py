"""The listing-page source: the demo corpus, and every malformed input we could think of."""

import datetime as dt
import os
import shutil

import pytest

from paperradar.normalize import normalize_paper
from paperradar.sources.errors import SourceError
from paperradar.ingest import ingest
from paperradar.sources.pages import parse_page, read_page, resolve_day

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


def dated(label: str) -> bytes:
    return f"Subscribe\n{label}\nA Title\n{ABSTRACT}\nAnother Title\n{ABSTRACT}\n".encode()


@pytest.mark.parametrize("label,reference,day", [
    ("Mar 11", dt.date(2026, 11, 29), dt.date(2026, 3, 11)),
    ("Mar 11", dt.date(2026, 3, 11), dt.date(2026, 3, 11)),  # the reference day itself
    ("Mar 11", dt.date(2026, 3, 10), dt.date(2025, 3, 11)),
    ("Dec 31", dt.date(2026, 1, 5), dt.date(2025, 12, 31)),
    ("Feb 29", dt.date(2026, 11, 29), dt.date(2024, 2, 29)),  # latest leap year not after it
    ("Feb 29", dt.date(2024, 2, 28), dt.date(2020, 2, 29)),
    ("Feb 29", dt.date(2024, 3, 1), dt.date(2024, 2, 29)),
    ("Feb 29", dt.date(2104, 1, 1), dt.date(2096, 2, 29)),  # 2100 is no leap year
    ("Mar 11, 2024", dt.date(2026, 11, 29), dt.date(2024, 3, 11)),  # a year is taken as written
    ("Feb 30", dt.date(2026, 11, 29), None),
    ("Feb 29, 2023", dt.date(2026, 11, 29), None),
])
def test_a_date_label_resolves_to_the_latest_such_day_not_after_the_reference(label, reference, day):
    assert resolve_day(label, reference) == day
    page = parse_page(dated(label), "p.txt", today=reference)
    assert [p.listing.day if p.listing else None for p in page.papers] == [day, day]
    if day:
        assert [(p.listing.source, p.listing.position) for p in page.papers] == [("pages", 1), ("pages", 2)]
    else:
        assert f"p.txt:2: {label!r} is not a day" in page.warnings[0]


def test_a_page_without_a_date_gives_papers_without_a_listing():
    page = parse_page(f"A Title\n{ABSTRACT}\n".encode(), "p.txt", today=dt.date(2026, 11, 29))
    assert len(page.papers) == 1 and page.papers[0].listing is None


def test_a_file_resolves_against_its_own_date_never_after_today(tmp_path):
    path = tmp_path / "saved.txt"
    path.write_bytes(dated("Dec 31"))
    saved = dt.datetime(2026, 1, 5, 12, 0).timestamp()
    os.utime(path, (saved, saved))
    assert read_page(path, today=dt.date(2026, 11, 29)).papers[0].listing.day == dt.date(2025, 12, 31)
    # a modification date in the future (a wrong clock, a copied file) counts as today
    assert read_page(path, today=dt.date(2025, 6, 1)).papers[0].listing.day == dt.date(2024, 12, 31)


def test_ingesting_a_demo_page_stores_its_listings(seed_files, tmp_path, store):
    path = tmp_path / seed_files[0].name
    shutil.copyfile(seed_files[0], path)
    saved = dt.datetime(2026, 11, 29, 12, 0).timestamp()
    os.utime(path, (saved, saved))
    page = read_page(path)
    ingest(store, page.papers)
    first = normalize_paper(page.papers[0])
    listing = store.get_listing(first.id)
    assert (listing.day, listing.source, listing.position) == (dt.date(2026, 3, 11), "pages", 1)
    assert len(store.get_listings([normalize_paper(p).id for p in page.papers])) == len(page.papers)
