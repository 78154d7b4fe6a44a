"""Session tokens and stateless credentials: round trips, tampering, expiry, rotation."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roleport.sts.claims import SessionClaims
from roleport.sts.credentials import SessionCredentials
from roleport.sts.errors import ExpiredSessionToken, InvalidSessionToken
from roleport.sts.keyring import Keyring, key_id_of
from roleport.sts.tokens import INVALID_MESSAGE, SessionTokenCodec

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/team/app"


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.value = now

    def now(self) -> datetime:
        return self.value


def claims(**changes) -> SessionClaims:
    base = dict(access_key_id="ASIAAAAAAAAAAAAAAAAA", account_id="123456789012", role_arn=ROLE,
                role_id="AROAEXAMPLEEXAMPLEEX", session_name="alice", issued_at=NOW,
                expires_at=NOW + timedelta(hours=1), source_identity="CN=alice",
                session_tags=(("x509Subject/CN", "alice"),), session_policy='{"a": 1}',
                policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",))
    base.update(changes)
    return SessionClaims(**base)


def mint(creds: SessionCredentials, **kw):
    args = dict(account_id="123456789012", role_arn=ROLE, role_id="AROAEXAMPLEEXAMPLEEX",
                session_name="alice", duration_seconds=3600)
    args.update(kw)
    return creds.mint(**args)


def test_minted_credentials_look_like_aws_ones():
    creds = SessionCredentials(Keyring.of(KEY_A), FixedClock())
    minted = mint(creds)
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", minted.access_key_id)
    assert len(minted.secret_access_key) == 40
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", minted.secret_access_key)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", minted.session_token)
    assert minted.claims.expires_at == NOW + timedelta(hours=1)
    assert minted.claims.assumed_role_arn == "arn:aws:sts::123456789012:assumed-role/app/alice"
    assert minted.claims.assumed_role_id == "AROAEXAMPLEEXAMPLEEX:alice"


def test_verify_returns_the_claims_and_the_derived_secret():
    creds = SessionCredentials(Keyring.of(KEY_A), FixedClock())
    minted = mint(creds, session_tags=(("k", "v"),), source_identity="CN=a")
    verified = creds.verify(minted.access_key_id, minted.session_token)
    assert verified.claims == minted.claims
    assert verified.secret_access_key == minted.secret_access_key


def test_another_replica_with_the_same_key_verifies_without_shared_state():
    minted = mint(SessionCredentials(Keyring.of(KEY_A), FixedClock()))
    other = SessionCredentials(Keyring.of(KEY_A), FixedClock())
    assert other.verify(minted.access_key_id, minted.session_token).claims == minted.claims


def test_expired_token_is_refused_as_expired():
    clock = FixedClock()
    creds = SessionCredentials(Keyring.of(KEY_A), clock)
    minted = mint(creds, duration_seconds=900)
    clock.value = NOW + timedelta(seconds=899)
    creds.verify(minted.access_key_id, minted.session_token)
    clock.value = NOW + timedelta(seconds=900)
    with pytest.raises(ExpiredSessionToken):
        creds.verify(minted.access_key_id, minted.session_token)


def test_token_presented_with_another_access_key_id_is_invalid():
    creds = SessionCredentials(Keyring.of(KEY_A), FixedClock())
    one, two = mint(creds), mint(creds)
    with pytest.raises(InvalidSessionToken):
        creds.verify(two.access_key_id, one.session_token)


@pytest.mark.parametrize("token", ["", "x", "RPT", "not base64 !!", "A" * 20000,
                                   base64.urlsafe_b64encode(b"RPT\x01\x08abcdefgh" + b"0" * 40)
                                   .decode()])
def test_garbage_tokens_are_invalid_with_one_message(token):
    creds = SessionCredentials(Keyring.of(KEY_A), FixedClock())
    with pytest.raises(InvalidSessionToken) as exc:
        creds.verify("ASIAAAAAAAAAAAAAAAAA", token)
    assert str(exc.value) == INVALID_MESSAGE


def test_a_token_sealed_under_an_unknown_key_is_invalid():
    minted = mint(SessionCredentials(Keyring.of(KEY_B), FixedClock()))
    with pytest.raises(InvalidSessionToken):
        SessionCredentials(Keyring.of(KEY_A), FixedClock()).verify(minted.access_key_id,
                                                                    minted.session_token)


def test_rotation_keeps_tokens_of_the_previous_key_verifiable():
    old = mint(SessionCredentials(Keyring.of(KEY_A), FixedClock()))
    rotated = SessionCredentials(Keyring.of(KEY_B, KEY_A), FixedClock())
    assert rotated.verify(old.access_key_id, old.session_token).claims == old.claims
    new = mint(rotated)
    assert SessionTokenCodec(Keyring.of(KEY_B)).open_with_key_id(new.session_token)[0] == \
        key_id_of(KEY_B)
    with pytest.raises(InvalidSessionToken):  # the old ring does not know the new key
        SessionCredentials(Keyring.of(KEY_A), FixedClock()).verify(new.access_key_id,
                                                                    new.session_token)


def test_the_claims_are_not_readable_in_the_token():
    minted = mint(SessionCredentials(Keyring.of(KEY_A), FixedClock()),
                  session_policy='{"Statement": "very-secret-policy"}')
    raw = base64.urlsafe_b64decode(minted.session_token + "=" * (-len(minted.session_token) % 4))
    for needle in (b"alice", b"very-secret-policy", b"123456789012", b"ASIA"):
        assert needle not in raw


def test_keyring_refuses_short_keys_and_unknown_current_key():
    with pytest.raises(ValueError):
        Keyring.of(b"short")
    with pytest.raises(ValueError):
        Keyring(current="nope", keys={key_id_of(KEY_A): KEY_A})


_text = st.text(min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(session_name=st.from_regex(r"[\w+=,.@-]{2,64}", fullmatch=True),
       source_identity=st.none() | _text,
       tags=st.lists(st.tuples(_text, st.text(max_size=60)), max_size=8),
       policy=st.none() | st.text(max_size=300),
       arns=st.lists(_text, max_size=4),
       duration=st.integers(900, 43200))
def test_any_claims_round_trip(session_name, source_identity, tags, policy, arns, duration):
    codec = SessionTokenCodec(Keyring.of(KEY_A))
    original = claims(session_name=session_name, source_identity=source_identity,
                      session_tags=tuple(tags), session_policy=policy,
                      policy_arns=tuple(arns), expires_at=NOW + timedelta(seconds=duration))
    assert codec.open(codec.seal(original)) == original


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_single_bit_flip_is_refused(data):
    codec = SessionTokenCodec(Keyring.of(KEY_A))
    token = codec.seal(claims())
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    index = data.draw(st.integers(0, len(raw) - 1))
    bit = data.draw(st.integers(0, 7))
    raw[index] ^= 1 << bit
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidSessionToken) as exc:
        codec.open(tampered)
    assert str(exc.value) == INVALID_MESSAGE


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_opens_and_never_crashes(text):
    with pytest.raises(InvalidSessionToken):
        SessionTokenCodec(Keyring.of(KEY_A)).open(text)


def _version(token: str) -> int:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))[3]


def test_usual_claims_are_sealed_plain_and_large_ones_compressed():
    codec = SessionTokenCodec(Keyring.of(KEY_A))
    small = claims(session_policy=None, policy_arns=())
    large = claims(session_policy='{"Statement": [' + ",".join(['{"Effect": "Allow"}'] * 60)
                   + "]}")
    small_token, large_token = codec.seal(small), codec.seal(large)
    assert (_version(small_token), _version(large_token)) == (2, 1)
    assert codec.open(small_token) == small
    assert codec.open(large_token) == large
    assert len(large_token) < len(large.session_policy)  # compression paid off


def test_tokens_of_the_earlier_layout_still_open():
    """Version 1 as sealed before: zlib level 9 with the default window (a replica not
    yet upgraded, or a token minted before the upgrade)."""
    import json
    import zlib

    from roleport.crypto.secrets import seal
    from roleport.sts import tokens

    keyring = Keyring.of(KEY_A)
    original = claims()
    header = b"RPT" + bytes([1, len(keyring.current)]) + keyring.current.encode()
    body = json.dumps(tokens._claims_json(original), separators=(",", ":")).encode()
    sealed = seal(keyring.derived(keyring.current, tokens.PURPOSE), zlib.compress(body, 9),
                  aad=header)
    token = base64.urlsafe_b64encode(header + sealed).rstrip(b"=").decode()
    assert SessionTokenCodec(keyring).open(token) == original
