"""The CLI's exit status says what happened: a mistake or an input that yields nothing is exit 1
with one line on stderr, never a quiet 0; `--help` shows which options take a value."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import typer
from typer.testing import CliRunner

from paperradar.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and text in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_subscribers_list_refuses_an_unknown_status(tmp_path):
    one_line_error(run("-d", tmp_path, "subscribers", "list", "--status", "bogus"),
                   "--status must be one of pending, active, paused, unsubscribed, suppressed, not 'bogus'")
    run("-d", tmp_path, "subscribers", "add", "ada@example.com", "--topic", "gradient inversion", "--confirmed")
    listed = run("-d", tmp_path, "subscribers", "list", "--status", "active")
    assert listed.exit_code == 0 and "ada@example.com" in listed.stdout


@pytest.mark.parametrize("query", ["", "   "])
def test_search_refuses_an_empty_query(tmp_path, query):
    one_line_error(run("-d", tmp_path, "search", query), "give a query")


def test_ingest_jsonl_of_a_binary_file_fails_and_says_how_many_more_were_skipped(tmp_path):
    binary = tmp_path / "photo.jsonl"
    binary.write_bytes(bytes(range(256)) * 200 + b"\n".join(bytes([0x80 + i % 64]) * 9 for i in range(500)))
    r = run("-d", tmp_path / "data", "ingest", "jsonl", binary, "--no-index")
    assert r.exit_code == 1 and "Traceback" not in r.output
    lines = r.stderr.splitlines()
    skipped = [line for line in lines if line.startswith("skipped ")]
    assert len(skipped) == 21 and re.fullmatch(r"skipped …and \d+ more", skipped[-1])  # 20 verbatim, then a count
    assert lines[-1].startswith("error: ") and "no record could be read" in lines[-1]


def test_ingest_jsonl_with_some_bad_lines_succeeds_and_counts_the_rest(tmp_path):
    snapshot = tmp_path / "snapshot.jsonl"
    good = json.dumps({"id": "2401.00001", "title": "A paper", "abstract": "Text.", "authors": "Ada Lovelace",
                       "categories": "cs.LG"})
    snapshot.write_text("\n".join(["not json"] * 25 + [good]) + "\n")
    r = run("-d", tmp_path / "data", "ingest", "jsonl", snapshot, "--no-index")
    assert r.exit_code == 0, r.output
    assert "skipped …and 5 more" in r.stderr


def _held_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def serve(data_dir, port, **kw):
    cmd = [sys.executable, "-m", "paperradar", "-d", str(data_dir), "serve", "--no-demo", "--port", str(port)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_serve_on_a_busy_port_fails_before_saying_it_serves(tmp_path):
    holder, port = _held_port()
    with holder:
        proc = serve(tmp_path, port)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err == (f"error: port {port} on 127.0.0.1 is in use (another paperradar serve?); "
                   "stop it or choose another with --port\n")
    assert "serving" not in out + err


def test_serve_listens_on_the_port_it_names_and_stops_on_ctrl_c(tmp_path):
    holder, port = _held_port()
    holder.close()  # a port that was free a moment ago
    proc = serve(tmp_path, port)
    try:
        line = ""
        while not line.startswith("paperradar serving") and proc.poll() is None:  # after any notes on the data
            line = proc.stderr.readline()
        assert line == f"paperradar serving {tmp_path.resolve()} at http://127.0.0.1:{port}\n"
        for _ in range(100):  # the socket is bound already; it listens once the app has started
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/papers/search", timeout=5) as response:
                    assert response.status == 200
                break
            except urllib.error.URLError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        else:
            pytest.fail("the server never answered")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 0


def _commands(command, path=()):
    """Every command and subcommand of the click tree Typer builds, with its argv path."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


def _shown_with_a_value(opt: str, help_text: str) -> bool:
    # The option, maybe its other spellings (-n, --no-index), then a placeholder such as <int>.
    return re.search(rf"(?<![\w-]){re.escape(opt)}(?:[ ,/]+-[\w-]+)*[ ,/]*<\w", help_text) is not None


def test_help_shows_no_value_for_a_flag_and_a_value_for_every_other_option():
    commands = list(_commands(typer.main.get_command(app)))
    assert len(commands) > 20
    for path, command in commands:
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert r.exit_code == 0, (path, r.output)
        for param in command.params:
            if param.param_type_name != "option" or param.hidden:
                continue
            for opt in param.opts + param.secondary_opts:
                shown = _shown_with_a_value(opt, r.stdout)
                problem = "reads as taking a value" if shown else "hides its value"
                assert shown != param.is_flag, f"{' '.join(path)} --help: {opt} {problem}"
        assert not _shown_with_a_value("--help", r.stdout), path
