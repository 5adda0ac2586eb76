"""Webhook signatures and sealed secrets: what a receiver can rely on."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from network.outbox.signing import (
    InvalidSignature,
    SecretBox,
    generate_secret,
    sign,
    signature_header,
    verify,
)

bodies = st.binary(max_size=2000)
secrets_ = st.text(min_size=1, max_size=60)
moments = st.integers(min_value=1_000_000_000, max_value=4_000_000_000)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"id":"1","type":"ping"}'
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature_header(["whsec_abc"], 1700000000, body) == f"t=1700000000,v1={expected}"


@given(body=bodies, secret=secrets_, t=moments)
def test_a_signed_body_verifies_with_its_secret(body, secret, t):
    assert verify(signature_header([secret], t, body), body, secret, now=t) == t


@given(body=bodies, secret=secrets_, other=secrets_, t=moments)
def test_another_secret_does_not_verify(body, secret, other, t):
    if other == secret:
        return
    with pytest.raises(InvalidSignature):
        verify(signature_header([secret], t, body), body, other, now=t)


@given(body=bodies, extra=st.binary(min_size=1, max_size=10), secret=secrets_, t=moments)
def test_a_changed_body_does_not_verify(body, extra, secret, t):
    with pytest.raises(InvalidSignature):
        verify(signature_header([secret], t, body), body + extra, secret, now=t)


@given(body=bodies, new=secrets_, old=secrets_, t=moments)
def test_during_a_rotation_either_secret_verifies(body, new, old, t):
    header = signature_header([new, old], t, body)
    verify(header, body, new, now=t)
    verify(header, body, old, now=t)


def test_an_old_timestamp_is_refused_as_a_replay():
    header = signature_header(["s"], 1_700_000_000, b"{}")
    with pytest.raises(InvalidSignature):
        verify(header, b"{}", "s", now=1_700_000_000 + 301)
    verify(header, b"{}", "s", now=1_700_000_000 + 300)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1700000000", "garbage"])
def test_malformed_headers_are_refused(header):
    with pytest.raises(InvalidSignature):
        verify(header, b"{}", "s", now=1_700_000_000)


def test_a_timestamp_change_breaks_the_signature():
    good = sign("s", 1_700_000_000, b"{}")
    with pytest.raises(InvalidSignature):
        verify(f"t=1700000001,v1={good}", b"{}", "s", now=1_700_000_000)


def test_secrets_are_random_and_sealed_readably_only_with_the_same_key():
    secret = generate_secret()
    assert secret != generate_secret()
    box = SecretBox("key-one")
    sealed = box.seal(secret)
    assert secret not in sealed
    assert SecretBox("key-one").open(sealed) == secret
    with pytest.raises(ValueError):
        SecretBox("key-two").open(sealed)
