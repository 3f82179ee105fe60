"""Signed links: a token works for its purpose only, expires, and survives key rotation."""

import pytest

from paperradar.tokens import MAX_AGE, BadToken, ExpiredToken, TokenSigner

T0 = 1_700_000_000


def signer(*secrets, at=T0):
    return TokenSigner(list(secrets), clock=lambda: at)


def test_round_trip_per_purpose():
    s = signer("k1")
    for purpose in ("confirm", "manage", "unsubscribe", "feedback"):
        token = s.sign(purpose, {"s": 7, "e": "a@b.test"})
        assert s.verify(purpose, token) == {"s": 7, "e": "a@b.test"}


def test_wrong_purpose_is_rejected():
    s = signer("k1")
    feedback = s.sign("feedback", {"s": 7, "e": "a@b.test", "p": "2401.00001"})
    with pytest.raises(BadToken, match="unsubscribe link is not valid"):
        s.verify("unsubscribe", feedback)


def test_forged_and_damaged_tokens_are_rejected():
    good = signer("k1").sign("unsubscribe", {"s": 7, "e": "a@b.test"})
    with pytest.raises(BadToken):
        signer("another-secret").verify("unsubscribe", good)
    payload, ts, sig = good.split(".")
    tampered = f"{payload[:-2]}xx.{ts}.{sig}"
    with pytest.raises(BadToken):
        signer("k1").verify("unsubscribe", tampered)
    for junk in ("", "abc", "a.b.c", "💥"):
        with pytest.raises(BadToken):
            signer("k1").verify("unsubscribe", junk)


def test_expired_tokens_are_rejected_per_purpose():
    token = signer("k1", at=T0).sign("confirm", {"s": 1, "e": "a@b.test"})
    assert signer("k1", at=T0 + MAX_AGE["confirm"]).verify("confirm", token)
    with pytest.raises(ExpiredToken, match="confirm link has expired"):
        signer("k1", at=T0 + MAX_AGE["confirm"] + 1).verify("confirm", token)
    # an unsubscribe link stays good far longer than a confirmation link
    unsub = signer("k1", at=T0).sign("unsubscribe", {"s": 1, "e": "a@b.test"})
    assert signer("k1", at=T0 + 300 * 86400).verify("unsubscribe", unsub)


def test_key_rotation_signs_with_the_first_and_accepts_any():
    old_token = signer("old").sign("manage", {"s": 3, "e": "a@b.test"})
    rotated = signer("new", "old")
    assert rotated.verify("manage", old_token) == {"s": 3, "e": "a@b.test"}
    new_token = rotated.sign("manage", {"s": 3, "e": "a@b.test"})
    assert signer("new").verify("manage", new_token)
    with pytest.raises(BadToken):
        signer("old").verify("manage", new_token)  # signed with the first key, not the old one
    with pytest.raises(BadToken):
        signer("new").verify("manage", old_token)  # once "old" is dropped its links stop working


def test_no_secret_no_signer():
    with pytest.raises(ValueError, match="at least one secret"):
        TokenSigner([])
