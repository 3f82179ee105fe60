"""Exactly-once across a crash: the real CLI is SIGKILLed mid-send, then run again.

The kill comes from inside the SMTP server's conversation, so it lands at a known point:
before the message body (the row is `sending`, nothing was delivered) or right after it (the
server kept the message but the sender never heard back). See digest/send.py for the policy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import paperradar
from fakes.digest_world import GRADIENT, add_papers, service, settings_for, subscribe
from fakes.smtp_server import FakeSMTP
from paperradar.store import Store

SRC = str(Path(paperradar.__file__).resolve().parents[1])
N = 12


def cli(settings, smtp, *args, connections=1) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC, "PAPERRADAR_SMTP_URL": smtp.url,
           "PAPERRADAR_SMTP_CONNECTIONS": str(connections),
           "PAPERRADAR_MAIL_FROM": settings.mail_from, "PAPERRADAR_BASE_URL": settings.base_url}
    return subprocess.Popen([sys.executable, "-m", "paperradar", "-d", str(settings.data_dir), "digest", "run", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def planned(tmp_path):
    """N subscribers with their digest rows planned for today (so the CLI needs no model)."""
    with FakeSMTP() as smtp:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url)
        store = Store.from_settings(settings)
        add_papers(store, "2401", GRADIENT)
        for i in range(N):
            subscribe(store, f"reader{i:02d}@example.com", ["gradient inversion"])
        svc = service(settings, store)
        today = svc.clock().date()
        assert svc.plan(today).planned == N
        yield settings, store, smtp, today
        store.close()


def kill_at(smtp: FakeSMTP, hook: str, nth: int, proc_holder: list) -> None:
    calls = []

    def hit(recipient: str) -> None:
        calls.append(recipient)
        if len(calls) == nth:
            os.kill(proc_holder[0].pid, signal.SIGKILL)

    setattr(smtp, hook, hit)


def run_killed_then_again(settings, smtp, today, hook, connections=1):
    holder: list = []
    kill_at(smtp, hook, 5, holder)
    holder.append(cli(settings, smtp, "--date", today.isoformat(), connections=connections))
    holder[0].wait(timeout=60)
    assert holder[0].returncode == -signal.SIGKILL
    setattr(smtp, hook, None)
    again = cli(settings, smtp, "--date", today.isoformat(), connections=connections)
    stdout, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr
    return stdout


def test_killed_before_the_body_every_subscriber_gets_exactly_one_digest(planned):
    settings, store, smtp, today = planned
    stdout = run_killed_then_again(settings, smtp, today, "on_rcpt")
    # four were sent and recorded before the kill; the rest of the claimed batch is picked up
    assert f"resumed after interruption {N - 4}" in stdout
    copies = smtp.by_recipient()
    assert sorted(copies) == [f"reader{i:02d}@example.com" for i in range(N)]
    assert all(len(v) == 1 for v in copies.values()), {k: len(v) for k, v in copies.items()}
    rows = store.outbox_for_date(today)
    assert {r.state for r in rows} == {"sent"}
    resumed = [r for r in rows if r.last_error]
    assert len(resumed) == N - 4 and all("interrupted while sending" in r.last_error for r in resumed)

    third = cli(settings, smtp, "--date", today.isoformat())  # and once more: nothing new
    stdout, stderr = third.communicate(timeout=60)
    assert third.returncode == 0 and "sent 0" in stdout and len(smtp.received()) == N, stderr


def test_killed_after_the_body_the_resend_is_the_same_message(planned):
    settings, store, smtp, today = planned
    run_killed_then_again(settings, smtp, today, "on_data")
    copies = smtp.by_recipient()
    assert len(copies) == N
    # one distinct digest per subscriber...
    assert all(len({m.message_id for m in v}) == 1 for v in copies.values())
    # ...and only the message in flight at the kill arrived twice, under one Message-ID
    twice = [k for k, v in copies.items() if len(v) == 2]
    assert len(twice) == 1 and all(len(v) == 1 for k, v in copies.items() if k not in twice)
    assert {r.state for r in store.outbox_for_date(today)} == {"sent"}


def test_with_four_connections_at_most_one_duplicate_per_connection(planned):
    settings, store, smtp, today = planned
    run_killed_then_again(settings, smtp, today, "on_data", connections=4)
    copies = smtp.by_recipient()
    assert len(copies) == N and all(len({m.message_id for m in v}) == 1 for v in copies.values())
    assert sum(len(v) - 1 for v in copies.values()) <= 4
    assert {r.state for r in store.outbox_for_date(today)} == {"sent"}
