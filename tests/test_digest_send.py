"""Sending digests through a real SMTP server: one per subscriber per day, retries, suppression."""

from __future__ import annotations

import re

import pytest

from fakes.digest_world import GRADIENT, OTHER, Clock, add_papers, service, settings_for, subscribe
from fakes.smtp_server import FakeSMTP, free_port
from paperradar.store import Store


@pytest.fixture
def smtp():
    with FakeSMTP() as server:
        yield server


@pytest.fixture
def world(tmp_path, smtp):
    settings = settings_for(tmp_path / "data", smtp_url=smtp.url)
    store = Store.from_settings(settings)
    add_papers(store, "2401", GRADIENT + OTHER)
    clock = Clock()
    yield settings, store, clock
    store.close()


def test_each_subscriber_gets_one_digest_with_reasons(world, smtp):
    settings, store, clock = world
    alice = subscribe(store, "alice@example.com", ["gradient inversion"])
    subscribe(store, "bob@example.com", ["protein folding"])
    report = service(settings, store, clock=clock).run()
    assert report.send.sent == 2 and report.states == {"sent": 2}

    [mail] = smtp.received("alice@example.com")
    msg = mail.message
    assert msg["Message-ID"] == f"<digest-{clock.now:%Y%m%d}-{alice.id}@radar.test>"
    assert msg["From"] == "paperradar <radar@radar.test>" and msg["To"] == "alice@example.com"
    assert msg["Date"] and msg["Subject"].startswith("2 new papers for you: ")
    assert re.fullmatch(r"<http://radar\.test/unsubscribe\?t=[\w.-]+>", msg["List-Unsubscribe"])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "matches your topic: gradient inversion" in text and "matches your topic: gradient inversion" in html
    assert "Gradient inversion attacks reconstruct" in text and "Protein folding" not in text
    assert 'href="http://radar.test/unsubscribe?t=' in html and "Unsubscribe" in html  # visible link
    assert text.count("More like this: http://radar.test/feedback?t=") == 2

    [bob_mail] = smtp.received("bob@example.com")
    assert "Protein folding with diffusion models" in bob_mail.message.get_body(("plain",)).get_content()


def test_running_the_job_twice_sends_nothing_new(world, smtp):
    settings, store, clock = world
    subscribe(store, "alice@example.com", ["gradient inversion"])
    svc = service(settings, store, clock=clock)
    svc.run()
    again = svc.run()
    assert again.plan.planned == 0 and again.send.sent == 0
    assert len(smtp.received()) == 1


def test_a_paper_is_never_sent_twice_and_a_new_version_is_not_new(world, smtp):
    settings, store, clock = world
    subscribe(store, "alice@example.com", ["gradient inversion"])
    svc = service(settings, store, clock=clock)
    svc.run()
    first = smtp.received()[0].message.get_body(("plain",)).get_content()
    assert "https://arxiv.org/abs/2401.00000" in first
    # next day: a new version of a paper she already got, and one genuinely new paper
    clock.advance(days=1)
    from fakes.digest_world import paper
    store.upsert_papers([paper("2401.00000", GRADIENT[0][0], GRADIENT[0][1] + " Revised.", version=2),
                         paper("2402.00001", "Gradient inversion for language models",
                               "Text recovered from gradients by gradient inversion.")])
    report = svc.run()
    assert report.send.sent == 1 and report.plan.planned == 1
    second = smtp.received()[1].message.get_body(("plain",)).get_content()
    assert "Gradient inversion for language models" in second
    assert "Gradient inversion attacks reconstruct" not in second
    assert "https://arxiv.org/abs/2401.00000" not in second


def test_empty_digests_are_recorded_not_sent_unless_asked_for(world, smtp):
    settings, store, clock = world
    subscribe(store, "quiet@example.com", ["superconducting qubits"])
    subscribe(store, "eager@example.com", ["superconducting qubits"], send_empty=True)
    report = service(settings, store, clock=clock).run()
    assert report.states == {"empty": 1, "sent": 1}
    assert [m.recipient for m in smtp.received()] == ["eager@example.com"]
    assert "No new papers matched your interests" in smtp.received()[0].message.get_body(("plain",)).get_content()


def test_451_is_retried_later_with_the_same_message_id(world, smtp):
    settings, store, clock = world
    subscribe(store, "bob@example.com", ["gradient inversion"])
    smtp.script("bob@example.com", "451")
    svc = service(settings, store, clock=clock)
    first = svc.run()
    assert first.send.retry_later == 1 and first.states == {"temp_failed": 1}
    [row] = store.outbox_for_date(clock.now.date())
    assert row.next_attempt_at == clock.now.replace(microsecond=0) + __import__("datetime").timedelta(seconds=60)
    assert "451" in row.last_error

    assert svc.run().send.sent == 0  # not due yet
    clock.advance(seconds=61)
    later = svc.run()
    assert later.send.sent == 1 and later.states == {"sent": 1}
    [mail] = smtp.received("bob@example.com")
    assert mail.message_id == row.message_id
    assert store.outbox_item(row.id).attempts == 2


def test_temporary_failures_give_up_after_max_attempts(tmp_path, smtp):
    settings = settings_for(tmp_path / "data", smtp_url=smtp.url, digest_max_attempts=2)
    store = Store.from_settings(settings)
    add_papers(store, "2401", GRADIENT)
    subscribe(store, "bob@example.com", ["gradient inversion"])
    smtp.script("bob@example.com", "451", "451", "451")
    clock = Clock()
    today = clock.now.date()  # given to every run: an hour later may be tomorrow
    svc = service(settings, store, clock=clock)
    svc.run(today)
    clock.advance(hours=1)
    report = svc.run(today)
    assert report.states == {"failed": 1}
    assert "gave up after 2 attempts" in store.outbox_for_date(today)[0].last_error
    assert store.get_subscriber_by_email("bob@example.com").status == "active"  # 4xx never suppresses


def test_550_fails_at_once_and_repeated_550_suppresses_the_address(world, smtp):
    settings, store, clock = world
    eve = subscribe(store, "eve@example.com", ["gradient inversion"], send_empty=True)
    smtp.script("eve@example.com", "550", "550", "550")
    svc = service(settings, store, clock=clock)
    for day in range(3):
        report = svc.run()
        assert report.send.failed == 1 and report.send.retry_later == 0
        clock.advance(days=1)
    assert report.send.suppressed == 1
    eve = store.get_subscriber(eve.id)
    assert eve.status == "suppressed" and eve.permanent_failures == 3
    assert svc.run().plan.planned == 0  # a suppressed address gets no more digests
    assert smtp.received() == []


def test_a_success_resets_the_permanent_failure_count(world, smtp):
    settings, store, clock = world
    eve = subscribe(store, "eve@example.com", ["gradient inversion"], send_empty=True)
    smtp.script("eve@example.com", "550", "550", "250", "550")
    svc = service(settings, store, clock=clock)
    for _ in range(4):
        svc.run()
        clock.advance(days=1)
    eve = store.get_subscriber(eve.id)
    assert eve.status == "active" and eve.permanent_failures == 1


def test_connection_dropped_after_data_is_recorded_and_resent_with_the_same_message_id(world, smtp):
    settings, store, clock = world
    subscribe(store, "dan@example.com", ["gradient inversion"])
    smtp.script("dan@example.com", "drop")
    svc = service(settings, store, clock=clock)
    first = svc.run()
    assert first.states == {"temp_failed": 1}
    [row] = store.outbox_for_date(clock.now.date())
    assert "after DATA: delivery unknown" in row.last_error
    clock.advance(minutes=2)
    assert svc.run().send.sent == 1
    copies = smtp.received("dan@example.com")
    # the server had kept the first copy: the resend is the same message, not a second digest
    assert len(copies) == 2 and copies[0].message_id == copies[1].message_id == row.message_id


def test_only_one_address(world, smtp):
    settings, store, clock = world
    subscribe(store, "alice@example.com", ["gradient inversion"])
    subscribe(store, "bob@example.com", ["gradient inversion"])
    report = service(settings, store, clock=clock).run(only_email="bob@example.com")
    assert report.send.sent == 1 and [m.recipient for m in smtp.received()] == ["bob@example.com"]


def test_dry_run_writes_and_sends_nothing(world, smtp):
    settings, store, clock = world
    subscribe(store, "alice@example.com", ["gradient inversion"])
    report = service(settings, store, clock=clock).run(dry_run=True)
    assert report.would_send == [("alice@example.com", 2)]
    assert store.outbox_for_date(clock.now.date()) == [] and smtp.received() == []


def test_without_smtp_url_digests_are_written_as_eml_files(tmp_path):
    settings = settings_for(tmp_path / "data")  # no SMTP URL: the embedded default
    store = Store.from_settings(settings)
    add_papers(store, "2401", GRADIENT)
    alice = subscribe(store, "alice@example.com", ["gradient inversion"])
    clock = Clock()
    service(settings, store, clock=clock).run()
    [eml] = (settings.data_dir / "outbox").glob("*.eml")
    assert eml.name == f"digest-{clock.now:%Y%m%d}-{alice.id}@radar.test.eml"
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in eml.read_bytes()


def test_unsubscribed_between_planning_and_sending_is_not_sent(world, smtp):
    settings, store, clock = world
    alice = subscribe(store, "alice@example.com", ["gradient inversion"])
    svc = service(settings, store, clock=clock)
    svc.plan(clock.now.date())
    store.update_subscriber(alice.id, status="unsubscribed")
    summary = svc.send(clock.now.date())
    assert summary.cancelled == 1 and smtp.received() == []
    assert store.outbox_counts() == {"failed": 1}


def test_an_unreachable_server_stops_the_run_and_loses_nothing(tmp_path):
    port = free_port()
    settings = settings_for(tmp_path / "data", smtp_url=f"smtp://127.0.0.1:{port}", smtp_timeout=2,
                            smtp_connections=1)
    store = Store.from_settings(settings)
    add_papers(store, "2401", GRADIENT)
    for name in ("a", "b", "c"):
        subscribe(store, f"{name}@example.com", ["gradient inversion"])
    clock = Clock()
    svc = service(settings, store, clock=clock)
    down = svc.run()
    assert down.send.stopped and "connecting to 127.0.0.1" in down.send.stopped
    # rows that met the outage wait for their retry, the others were put back untouched
    assert set(down.states) <= {"temp_failed", "pending"} and sum(down.states.values()) == 3
    with FakeSMTP(port=port) as smtp:
        clock.advance(minutes=5)
        assert svc.run().send.sent == 3
        assert sorted(m.recipient for m in smtp.received()) == ["a@example.com", "b@example.com", "c@example.com"]


def test_sending_rate_is_limited(tmp_path, smtp):
    import time

    settings = settings_for(tmp_path / "data", smtp_url=smtp.url, smtp_rate=20)
    store = Store.from_settings(settings)
    add_papers(store, "2401", GRADIENT)
    for i in range(6):
        subscribe(store, f"r{i}@example.com", ["gradient inversion"])
    svc = service(settings, store)
    svc.plan(svc.clock().date())
    start = time.monotonic()
    assert svc.send(svc.clock().date()).sent == 6
    assert time.monotonic() - start >= 5 / 20  # six messages at 20/s: five gaps of 50 ms


def test_two_runs_in_one_process_never_send_each_others_rows(tmp_path, smtp):
    """The worker's schedule and a command can send at once in one process: the second run
    must leave the rows the first has claimed alone, not take them for a crashed run's."""
    import threading

    settings = settings_for(tmp_path / "data", smtp_url=smtp.url, smtp_connections=1)
    store = Store.from_settings(settings)
    add_papers(store, "2401", GRADIENT)
    for name in ("alice", "bob"):
        subscribe(store, f"{name}@example.com", ["gradient inversion"])
    clock = Clock()
    first = service(settings, store, clock=clock)
    first.plan(clock.now.date())
    one_sent, go_on = threading.Event(), threading.Event()

    def hold(item, outcome):  # the first run's one connection waits after its first message
        one_sent.set()
        go_on.wait(10)

    summary = {}
    runner = threading.Thread(target=lambda: summary.update(first=first.send(clock.now.date(), progress=hold)))
    runner.start()
    assert one_sent.wait(10)
    assert sorted(i.state for i in store.outbox_for_date(clock.now.date())) == ["sending", "sent"]
    second = service(settings, store, clock=clock).send(clock.now.date())
    go_on.set()
    runner.join(10)
    assert second.sent == 0 and second.resumed == 0
    assert summary["first"].sent == 2
    assert sorted(m.recipient for m in smtp.received()) == ["alice@example.com", "bob@example.com"]
    store.close()
