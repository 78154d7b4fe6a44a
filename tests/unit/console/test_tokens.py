"""The console's session cookie and CSRF tokens (roleport.console.tokens)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roleport.console.tokens import SIGNIN_FORM_SECONDS, SessionTokens
from roleport.sts.keyring import Keyring

KEY_A, KEY_B = b"a" * 32, b"b" * 32
KEYS = {"AKIAEXAMPLEKEY000001": ("111122223333", "secret-one")}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def lookup(access_key_id: str):  # noqa: ANN201
    return KEYS.get(access_key_id)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def tokens(clock: Clock) -> SessionTokens:
    return SessionTokens(Keyring.of(KEY_A), 3600, clock=clock)


def _issue(tokens: SessionTokens) -> str:
    return tokens.issue("AKIAEXAMPLEKEY000001", "111122223333", "eu-west-1", "secret-one")[0]


def test_a_session_opens_with_what_it_was_issued_for(tokens: SessionTokens) -> None:
    session = tokens.open(_issue(tokens), lookup)
    assert session is not None
    assert (session.access_key_id, session.account_id, session.region) == (
        "AKIAEXAMPLEKEY000001", "111122223333", "eu-west-1")
    assert session.expires_at - session.issued_at == 3600


def test_another_server_with_the_same_key_opens_it(clock: Clock) -> None:
    token = _issue(SessionTokens(Keyring.of(KEY_A), 3600, clock=clock))
    assert SessionTokens(Keyring.of(KEY_A), 3600, clock=clock).open(token, lookup)


def test_an_expired_session_is_refused(tokens: SessionTokens, clock: Clock) -> None:
    token = _issue(tokens)
    clock.now += 3599
    assert tokens.open(token, lookup) is not None
    clock.now += 1
    assert tokens.open(token, lookup) is None


def test_an_altered_payload_is_refused(tokens: SessionTokens) -> None:
    import base64
    import json

    version, key_id, payload, mac = _issue(tokens).split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["a"] = "999999999999"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    assert tokens.open(f"{version}.{key_id}.{forged}.{mac}", lookup) is None


def test_a_token_of_another_server_key_is_refused(clock: Clock) -> None:
    token = _issue(SessionTokens(Keyring.of(KEY_B), 3600, clock=clock))
    assert SessionTokens(Keyring.of(KEY_A), 3600, clock=clock).open(token, lookup) is None


def test_a_rotated_out_key_still_opens_while_in_the_ring(clock: Clock) -> None:
    token = _issue(SessionTokens(Keyring.of(KEY_A), 3600, clock=clock))
    assert SessionTokens(Keyring.of(KEY_B, KEY_A), 3600, clock=clock).open(token, lookup)
    assert SessionTokens(Keyring.of(KEY_B), 3600, clock=clock).open(token, lookup) is None


def test_a_session_ends_when_its_key_goes_or_its_secret_changes(
        tokens: SessionTokens) -> None:
    token = _issue(tokens)
    assert tokens.open(token, lambda _key: None) is None
    assert tokens.open(token, lambda _key: ("111122223333", "rotated-secret")) is None
    assert tokens.open(token, lambda _key: ("444455556666", "secret-one")) is None


@given(st.text(max_size=300))
def test_any_string_is_refused_without_an_exception(text: str) -> None:
    tokens = SessionTokens(Keyring.of(KEY_A), 3600)
    assert tokens.open(text, lookup) is None
    assert tokens.open("v1." + text, lookup) is None


def test_csrf_tokens_belong_to_one_session(tokens: SessionTokens) -> None:
    one = tokens.open(_issue(tokens), lookup)
    two = tokens.open(_issue(tokens), lookup)
    assert one and two
    assert tokens.check_csrf(one, tokens.csrf_token(one))
    assert not tokens.check_csrf(one, tokens.csrf_token(two))
    assert not tokens.check_csrf(one, None)
    assert not tokens.check_csrf(one, "")


def test_the_sign_in_form_token_matches_its_cookie_and_expires(tokens: SessionTokens,
                                                                clock: Clock) -> None:
    nonce = tokens.signin_nonce()
    field = tokens.signin_csrf(nonce)
    assert tokens.check_signin_csrf(nonce, field)
    assert not tokens.check_signin_csrf(tokens.signin_nonce(), field)
    assert not tokens.check_signin_csrf(None, field)
    clock.now += SIGNIN_FORM_SECONDS + 1
    assert not tokens.check_signin_csrf(nonce, field)
