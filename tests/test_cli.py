"""The CLI through Typer's runner, on real data dirs."""

import json

from typer.testing import CliRunner

from paperradar.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_ingest_pages_twice(tmp_path, seed_files):
    first = run("--data-dir", tmp_path, "ingest", "pages", *seed_files, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == 576
    again = run("--data-dir", tmp_path, "ingest", "pages", *seed_files, "--json")
    assert json.loads(again.stdout) | {"skipped_reasons": []} == {
        "added": 0, "updated": 0, "unchanged": 617, "skipped": 0, "skipped_reasons": [], "failed_files": []}


def test_search_show_stats(tmp_path, seed_files):
    run("-d", tmp_path, "ingest", "pages", *seed_files)
    found = run("-d", tmp_path, "search", "normalizing flows", "--json", "--limit", "10")
    items = json.loads(found.stdout)
    assert len(items) == 10 and "Flow" in items[0]["title"]
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    shown = json.loads(run("-d", tmp_path, "show", items[0]["id"], "--json").stdout)
    assert shown["title"] == items[0]["title"]
    human = run("-d", tmp_path, "show", items[0]["id"])
    assert items[0]["title"] in human.stdout
    stats = json.loads(run("-d", tmp_path, "stats", "--json").stdout)
    assert stats["papers"] == 576 and stats["indexed"] == 576 and stats["index_pending"] == 0


def test_bad_file_fails_with_one_line_and_keeps_the_rest(tmp_path, seed_files):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 10)
    r = run("-d", tmp_path / "d", "ingest", "pages", garbage, seed_files[0])
    assert r.exit_code == 1
    assert "garbage.bin: binary data, not a listing page" in r.output
    assert "Traceback" not in r.output
    stats = json.loads(run("-d", tmp_path / "d", "stats", "--json").stdout)
    assert stats["papers"] == 56


def test_errors_are_one_line_not_tracebacks(tmp_path):
    missing = run("-d", tmp_path, "show", "nope")
    assert missing.exit_code == 1 and "no paper with id 'nope'" in missing.output
    bad = run("-d", tmp_path, "search", "x from:never")
    assert bad.exit_code == 1 and "from: expects a date" in bad.output
    assert "Traceback" not in missing.output + bad.output


def test_help_explains():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("serve", "ingest", "search", "show", "stats", "reindex"):
        assert cmd in r.stdout
