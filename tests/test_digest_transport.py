"""SMTP from a URL (smtp, smtps, STARTTLS, AUTH) and the .eml folder, against real servers."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from fakes.smtp_server import FakeSMTP, free_port
from paperradar.digest.transport import (ConfigError, FolderTransport, Outgoing, PermFailure, SMTPTransport,
                                         TempFailure)

FIXTURES = Path(__file__).parent / "fixtures"


def server_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(FIXTURES / "smtp_test_tls.crt", FIXTURES / "smtp_test_tls.key")
    return ctx


def message(to="reader@example.com", n=1) -> Outgoing:
    data = (f"From: radar@radar.test\r\nTo: {to}\r\nMessage-ID: <m{n}@radar.test>\r\nSubject: hi\r\n\r\n"
            ".a line starting with a dot\r\nbody\r\n").encode()
    return Outgoing("radar@radar.test", to, f"<m{n}@radar.test>", data)


def test_plain_smtp_reuses_one_connection_and_keeps_dot_lines():
    with FakeSMTP() as smtp:
        t = SMTPTransport(smtp.url)
        t.send(message(n=1))
        t.send(message(n=2))
        t.close()
        assert [m.message_id for m in smtp.received()] == ["<m1@radar.test>", "<m2@radar.test>"]
        assert b"\r\n.a line starting with a dot\r\n" in smtp.received()[0].data
        assert smtp.tls == [False, False]


def test_starttls_when_offered_and_auth_with_an_escaped_password():
    with FakeSMTP(starttls=server_tls(), users={"radar": "p@ss word"}) as smtp:
        t = SMTPTransport(f"smtp://radar:p%40ss%20word@127.0.0.1:{smtp.port}?verify=0")
        t.send(message())
        t.close()
        assert smtp.tls == [True] and smtp.logins == ["radar"]
        assert "p@ss" not in repr(t)


def test_certificate_is_verified_by_default():
    with FakeSMTP(starttls=server_tls()) as smtp:
        with pytest.raises(TempFailure, match="CERTIFICATE_VERIFY_FAILED") as e:
            SMTPTransport(smtp.url).send(message())
        assert e.value.server_down and smtp.received() == []


def test_smtps_implicit_tls():
    with FakeSMTP(implicit_tls=server_tls()) as smtp:
        assert smtp.url.startswith("smtps://")
        t = SMTPTransport(smtp.url + "?verify=0")
        t.send(message())
        t.close()
        assert smtp.tls == [True]


def test_wrong_password_is_a_server_problem_not_the_recipients():
    with FakeSMTP(starttls=server_tls(), users={"radar": "right"}) as smtp:
        with pytest.raises(TempFailure, match="authentication failed") as e:
            SMTPTransport(f"smtp://radar:wrong@127.0.0.1:{smtp.port}?verify=0").send(message())
        assert e.value.server_down


def test_starttls_always_refuses_a_server_without_it():
    with FakeSMTP() as smtp:
        with pytest.raises(TempFailure, match="does not offer STARTTLS") as e:
            SMTPTransport(smtp.url + "?starttls=always").send(message())
        assert e.value.server_down and smtp.received() == []


def test_replies_map_to_typed_failures():
    with FakeSMTP() as smtp:
        smtp.script("a@example.com", "451")
        smtp.script("b@example.com", "550")
        smtp.script("c@example.com", "550-data")
        smtp.script("d@example.com", "drop")
        t = SMTPTransport(smtp.url)
        with pytest.raises(TempFailure, match="RCPT TO <a@example.com>: 451") as e:
            t.send(message("a@example.com"))
        assert e.value.code == 451 and not e.value.after_data
        with pytest.raises(PermFailure, match="RCPT TO <b@example.com>: 550") as e:
            t.send(message("b@example.com"))
        with pytest.raises(PermFailure, match="550"):
            t.send(message("c@example.com"))
        with pytest.raises(TempFailure, match="after DATA: delivery unknown") as e:
            t.send(message("d@example.com"))
        assert e.value.after_data
        t.send(message("ok@example.com"))  # reconnects after the drop
        t.close()
        assert [m.recipient for m in smtp.received()] == ["d@example.com", "ok@example.com"]


def test_unreachable_server_and_bad_urls():
    with pytest.raises(TempFailure, match="connecting to 127.0.0.1") as e:
        SMTPTransport(f"smtp://127.0.0.1:{free_port()}", timeout=2).send(message())
    assert e.value.server_down
    for url, why in (("http://x", "smtp:// or smtps://"), ("smtp://", "no host"),
                     ("smtp://h?starttls=maybe", "starttls must be auto, always or never, got 'maybe'"),
                     ("smtp://h?startls=always", "option 'startls' is unknown; the options are starttls, verify"),
                     ("smtp://h?verify=perhaps", "verify must be"), ("smtp://u:secret@h:99999", "bad port: 'h:99999'")):
        with pytest.raises(ConfigError, match=why) as e:
            SMTPTransport(url)
        assert "secret" not in str(e.value)


def test_421_too_many_connections_is_the_servers_problem_not_the_recipients():
    with FakeSMTP(max_connections=1) as smtp:
        first = SMTPTransport(smtp.url)
        first.send(message(n=1))
        with pytest.raises(TempFailure, match="421 4.7.0 too many connections") as e:
            SMTPTransport(smtp.url).send(message(n=2))  # a second connection while the first is open
        assert e.value.server_down and e.value.code == 421
        first.close()
        assert smtp.connections == 2 and len(smtp.received()) == 1


def test_folder_transport_writes_one_file_per_message_id(tmp_path):
    t = FolderTransport(tmp_path / "outbox")
    t.send(message(n=1))
    t.send(message(n=1))  # a resend replaces, it does not add
    t.send(message(n=2))
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == ["m1@radar.test.eml", "m2@radar.test.eml"]
