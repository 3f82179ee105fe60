"""`paperradar subscribers ...` and `paperradar digest ...` through Typer's runner on real data dirs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fakes.smtp_server import free_port
from paperradar.cli import app

runner = CliRunner()
ENV = {"PAPERRADAR_SMTP_URL": None, "PAPERRADAR_BASE_URL": "http://radar.test",
       "PAPERRADAR_MAIL_FROM": "paperradar <radar@radar.test>"}


def run(data, *args, **env):
    return runner.invoke(app, ["-d", str(data), *map(str, args)], env={**ENV, **env})


def test_subscribers_add_list_remove(tmp_path):
    data = tmp_path / "data"
    r = run(data, "subscribers", "add", "Ada@Example.com", "--topic", "gradient inversion", "--topic",
            "federated learning", "--category", "cs.LG", "--author", "Grace Hopper", "--confirmed")
    assert r.exit_code == 0 and "added ada@example.com (active)" in r.stdout
    r = run(data, "subscribers", "add", "bob@example.com", "-t", "protein folding", "--weekly")
    assert r.exit_code == 0 and "confirmation email sent" in r.stdout
    [confirm] = (data / "outbox").glob("confirm-*.eml")  # no SMTP URL: mail lands in the outbox folder
    assert b"To: bob@example.com" in confirm.read_bytes()

    listed = json.loads(run(data, "subscribers", "list", "--json").stdout)
    assert [(s["email"], s["status"], s["frequency"]) for s in listed] == [
        ("ada@example.com", "active", "daily"), ("bob@example.com", "pending", "weekly")]
    assert listed[0]["topics"] == ["gradient inversion", "federated learning"]
    assert listed[0]["categories"] == ["cs.LG"] and listed[0]["authors"] == ["Grace Hopper"]
    assert "protein folding" in run(data, "subscribers", "list").stdout

    assert run(data, "subscribers", "remove", "BOB@example.com").exit_code == 0
    assert [s["email"] for s in json.loads(run(data, "subscribers", "list", "--json").stdout)] == ["ada@example.com"]


@pytest.mark.parametrize("args, message", [
    (["subscribers", "add", "not-an-address", "-t", "x"], "not a valid email address"),
    (["subscribers", "add", "a@example.com"], "at least one topic"),
    (["subscribers", "add", "a@example.com", "-c", "no such category!"], "not an arXiv category"),
    (["subscribers", "remove", "nobody@example.com"], "no subscriber nobody@example.com"),
    (["digest", "run", "--date", "yesterday"], "--date must be YYYY-MM-DD"),
    (["digest", "preview", "nobody@example.com"], "no subscriber nobody@example.com"),
])
def test_mistakes_are_one_line_errors(tmp_path, args, message):
    r = run(tmp_path / "data", *args)
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output


def test_adding_twice_is_an_error(tmp_path):
    run(tmp_path, "subscribers", "add", "a@example.com", "-t", "x", "--confirmed")
    r = run(tmp_path, "subscribers", "add", "a@example.com", "-t", "y", "--confirmed")
    assert r.exit_code == 1 and "already subscribed" in r.output


def test_digest_run_with_an_unreachable_server_exits_non_zero(tmp_path):
    run(tmp_path, "subscribers", "add", "a@example.com", "-t", "x", "--confirmed", "--send-empty")
    r = run(tmp_path, "digest", "run", PAPERRADAR_SMTP_URL=f"smtp://127.0.0.1:{free_port()}", PAPERRADAR_SMTP_TIMEOUT="2")
    assert r.exit_code == 1 and "stopped early, the mail server is not usable" in r.output


def test_digest_run_preview_and_dry_run_with_the_real_model(tmp_path, seed_files):
    """End to end on one demo page with the configured embedding model (built once, cached)."""
    data = tmp_path / "data"
    assert run(data, "ingest", "pages", seed_files[0]).exit_code == 0
    run(data, "subscribers", "add", "ada@example.com", "-t", "gradient inversion", "--confirmed")
    dry = run(data, "digest", "run", "--dry-run")
    assert dry.exit_code == 0 and "would be sent" in dry.stdout and not (data / "outbox").exists()

    preview = run(data, "digest", "preview", "ada@example.com")
    assert preview.exit_code == 0, preview.output
    html = open(preview.stdout.strip()).read()
    assert "Unsubscribe" in html and "matches your topic: gradient inversion" in html

    first = run(data, "digest", "run")
    assert first.exit_code == 0 and "sent 1" in first.stdout, first.output
    [eml] = (data / "outbox").glob("digest-*.eml")
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in eml.read_bytes()
    again = run(data, "digest", "run")
    assert again.exit_code == 0 and "planned 0" in again.stdout and "sent 0" in again.stdout


def test_confirmation_that_cannot_be_sent_is_reported(tmp_path):
    r = run(tmp_path, "subscribers", "add", "a@example.com", "-t", "x",
            PAPERRADAR_SMTP_URL=f"smtp://127.0.0.1:{free_port()}", PAPERRADAR_SMTP_TIMEOUT="2")
    assert r.exit_code == 1 and "added a@example.com (pending), but the confirmation email could not be sent" in r.output
