"""Mail that cannot be turned against its reader: a resend is the first copy byte for byte,
control and bidi characters never reach a subject, a line or a stored topic, and an address
that some mail software would decode into another one is refused."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from fakes.digest_world import GRADIENT, Clock, add_papers, paper, service, settings_for, subscribe
from fakes.smtp_server import FakeSMTP
from paperradar.cli import app
from paperradar.digest.interests import InvalidInput, normalize_email
from paperradar.digest.links import Links
from paperradar.digest.render import DigestItem, DigestRenderer
from paperradar.store import Store, Subscriber
from paperradar.tokens import TokenSigner, signer_from_settings

runner = CliRunner()
# RIGHT-TO-LEFT OVERRIDE makes "Evil \u202egnp.exe" display as "Evil exe.png"; BEL rings a
# terminal bell; ESC starts a terminal escape sequence (here: red text).
HOSTILE = "Evil \u202egnp.exe\x07 \x1b[31mred\x1b[0m \u200bhidden\u2066 paper"


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def render(sub: Subscriber, items: list[DigestItem]):
    renderer = DigestRenderer(Links(TokenSigner(["k"]), "https://radar.test"), mail_from="paperradar <radar@radar.test>")
    return parse(renderer.render(sub, dt.date(2024, 3, 11), items, message_id="<d-7@radar.test>",
                                 date=dt.datetime(2024, 3, 11, 6)).data)


def test_a_resent_digest_is_the_first_copy_byte_for_byte(tmp_path):
    with FakeSMTP() as smtp:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url)
        store = Store.from_settings(settings)
        try:
            add_papers(store, "2401", GRADIENT)
            subscribe(store, "dan@example.com", ["gradient inversion"])
            smtp.script("dan@example.com", "drop")  # the server may have kept it: delivery unknown
            clock = Clock()
            svc = service(settings, store, clock=clock)
            assert svc.run().states == {"temp_failed": 1}
            second = int(time.time())
            while int(time.time()) == second:  # the resend is built at a later moment, to the second
                time.sleep(0.05)
            clock.advance(minutes=2)
            assert svc.run().send.sent == 1
            first, resent = smtp.received("dan@example.com")
            assert resent.data == first.data
            # its links are dated when the digest was planned, and they work
            unsubscribe = first.message["List-Unsubscribe"].strip("<>")
            token = parse_qs(urlparse(unsubscribe).query)["t"][0]
            assert signer_from_settings(settings, store).verify("unsubscribe", token)["e"] == "dan@example.com"
        finally:
            store.close()


def test_control_and_bidi_characters_never_reach_the_subject_or_the_text():
    sub = Subscriber(id=7, email="reader@example.com", topics=[HOSTILE])  # stored before topics were cleaned
    hostile = paper("2403.00001", HOSTILE, "An abstract \u202eevil\x1b[2J.")
    msg = render(sub, [DigestItem(hostile, [f"matches your topic: {HOSTILE}"])])
    assert msg["Subject"] == "1 new paper for you: Evil gnp.exe [31mred [0m hidden paper"
    text = msg.get_body(("plain",)).get_content() + msg.get_body(("html",)).get_content()
    assert not any(c in text for c in "\u202e\u2066\u200b\x07\x1b")
    assert "Evil gnp.exe [31mred [0m hidden paper" in text and "An abstract evil [2J." in text


def test_a_zero_width_joiner_stays_where_a_script_needs_it():
    title = "می\u200cخواهم"  # Persian: the non-joiner keeps two letters apart, it is part of the word
    msg = render(Subscriber(id=7, email="reader@example.com", topics=["t"]), [DigestItem(paper("2403.00002", title), ["r"])])
    assert title in msg["Subject"] and title in msg.get_body(("plain",)).get_content()


def test_interests_are_stored_without_control_characters(tmp_path):
    r = runner.invoke(app, ["-d", str(tmp_path), "subscribers", "add", "ada@example.com", "--confirmed",
                            "--topic", "gradient\u202e inversion\x07", "--topic", "\x1b[31mdiffusion\x1b[0m models",
                            "--author", "Ada\u2066 Lovelace"])
    assert r.exit_code == 0, r.output
    listed = runner.invoke(app, ["-d", str(tmp_path), "subscribers", "list", "--json"])
    [ada] = json.loads(listed.stdout)
    assert ada["topics"] == ["gradient inversion", "[31mdiffusion [0m models"]
    assert ada["authors"] == ["Ada Lovelace"]


@pytest.mark.parametrize("address", [
    "=?utf-8?b?YWRhQGV2aWwudGVzdA==?=@example.com",
    "=?utf-8?q?ada=40evil.test?=@example.com",
    "ada=?x?q?=40evil.test?=@example.com",
])
def test_an_address_with_an_encoded_word_is_refused(tmp_path, address):
    with pytest.raises(InvalidInput, match="not a valid email address"):
        normalize_email(address)
    r = runner.invoke(app, ["-d", str(tmp_path), "subscribers", "add", address, "--topic", "x", "--confirmed"])
    assert r.exit_code == 1 and "not a valid email address" in r.stderr and "Traceback" not in r.output


def test_ordinary_addresses_with_equals_and_question_marks_are_still_accepted():
    assert normalize_email("Ada+news=1@Example.com") == "ada+news=1@example.com"
    assert normalize_email("what?@example.com") == "what?@example.com"
