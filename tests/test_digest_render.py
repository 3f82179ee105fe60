"""The digest email itself: structure, hostile paper text, header injection, DKIM."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import dkim
import pytest

from fakes.digest_world import paper
from paperradar.config import Settings
from paperradar.digest.dkim import DkimError, DkimSigner
from paperradar.digest.links import Links
from paperradar.digest.render import DigestItem, DigestRenderer
from paperradar.store import Subscriber
from paperradar.tokens import TokenSigner

FIXTURES = Path(__file__).parent / "fixtures"
SUB = Subscriber(id=42, email="reader@example.com", topics=["gradient inversion"])
DATE = dt.date(2024, 3, 11)
MID = "<digest-20240311-42@radar.test>"
HOSTILE = paper(
    "2403.00001",
    "Innocent title\r\nBcc: victim@evil.test\r\n\r\n<script>alert('t')</script>",
    "An abstract with <script>alert(1)</script>, an escaped &lt;b&gt; and\r\n.\r\nan SMTP dot line "
    "and a fake boundary\r\n--=_fake\r\nContent-Type: text/html",
    authors=["Mallory <img src=x onerror=alert(1)>"],
    links={"abs": "javascript:alert(document.cookie)"},
)


def renderer(**kw) -> DigestRenderer:
    return DigestRenderer(Links(TokenSigner(["k"]), "https://radar.test"), mail_from="paperradar <radar@radar.test>", **kw)


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def render(items, **kw):
    return renderer(**kw).render(SUB, DATE, items, message_id=MID, date=dt.datetime(2024, 3, 11, 6, 0))


def test_structure_and_headers():
    out = render([DigestItem(paper("2401.00001", "A paper", "Text."), ["matches your topic: gradient inversion"])])
    msg = parse(out.data)
    assert (out.sender, out.recipient, out.message_id) == ("radar@radar.test", "reader@example.com", MID)
    assert msg["Message-ID"] == MID and msg["Date"] == "Mon, 11 Mar 2024 06:00:00 +0000"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"].startswith("<https://radar.test/unsubscribe?t=")
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(len(line) <= 998 for line in out.data.split(b"\r\n"))
    body = out.data.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))  # quoted-printable lines
    assert b"\n" not in out.data.replace(b"\r\n", b"")  # CRLF only


def test_the_same_digest_renders_to_the_same_bytes():
    items = [DigestItem(paper("2401.00001", "A paper", "Text."), ["r"])]
    assert render(items).data == render(items).data


def test_hostile_paper_text_is_inert_in_html_and_text_and_cannot_add_headers():
    out = render([DigestItem(HOSTILE, ["matches your topic: gradient inversion"])])
    msg = parse(out.data)
    # no header came from the title: one Bcc-free header block, the subject is one line
    assert msg["Bcc"] is None and "victim@evil.test" not in str(msg.keys())
    assert msg["Subject"] == "1 new paper for you: Innocent title Bcc: victim@evil.test <script>alert('t')</script>"
    headers = out.data.split(b"\r\n\r\n", 1)[0].decode()
    assert not any(line.startswith("Bcc") for line in headers.split("\r\n"))
    parts = list(msg.iter_parts())
    assert len(parts) == 2  # the fake boundary in the abstract made no third part

    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp;lt;b&amp;gt;" in html  # an escaped entity stays text, it does not become a tag
    assert "javascript:" not in html and 'href="https://radar.test/papers/2403.00001"' in html

    text = msg.get_body(("plain",)).get_content()
    assert "Innocent title Bcc: victim@evil.test <script>alert('t')</script>" in text  # literal, one line
    assert "&lt;b&gt;" in text and "&amp;" not in text  # plain text is not HTML-escaped
    assert "\n.\n" not in text and "\n--=_fake" not in text


def test_a_non_ascii_subject_is_encoded_not_broken():
    out = render([DigestItem(paper("2401.00001", "Über naïve Bayes — ε-differential privacy", ""), ["r"])])
    assert parse(out.data)["Subject"] == "1 new paper for you: Über naïve Bayes — ε-differential privacy"
    assert out.data.split(b"\r\n\r\n", 1)[0].isascii()


def dns_with_test_key(name, timeout=5):
    assert name == b"digest._domainkey.radar.test."
    public = (FIXTURES / "dkim_test_key.pub.b64").read_text().strip()
    return f"v=DKIM1; k=rsa; p={public}".encode()


def test_dkim_signature_verifies_and_covers_the_unsubscribe_headers():
    signer = DkimSigner((FIXTURES / "dkim_test_key.pem").read_bytes(), selector="digest", domain="radar.test")
    out = render([DigestItem(HOSTILE, ["r"])], dkim=signer)
    assert dkim.verify(out.data, dnsfunc=dns_with_test_key)
    signature = parse(out.data)["DKIM-Signature"]
    signed = {h.strip().lower() for h in signature.split("h=")[1].split(";")[0].split(":")}
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject", "message-id"} <= signed
    tampered = out.data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                b"List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks")
    assert not dkim.verify(tampered, dnsfunc=dns_with_test_key)


def test_dkim_from_settings(tmp_path):
    settings = Settings(data_dir=tmp_path, mail_from="radar@radar.test",
                        dkim_key_path=FIXTURES / "dkim_test_key.pem", dkim_selector="digest")
    signer = DkimSigner.from_settings(settings)
    assert signer.domain == b"radar.test"
    assert DkimSigner.from_settings(Settings(data_dir=tmp_path)) is None
    with pytest.raises(DkimError, match="cannot read DKIM key"):
        DkimSigner.from_settings(Settings(data_dir=tmp_path, dkim_key_path=tmp_path / "missing.pem"))
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(DkimError, match="unusable"):
        DkimSigner.from_settings(Settings(data_dir=tmp_path, dkim_key_path=tmp_path / "junk.pem"))
