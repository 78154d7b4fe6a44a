"""OCSP request building and response verification (roleport.crypto.ocsp), with answers
made by the test responder's builders: every rule that refuses an answer, and the
answers that pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roleport.crypto import devpki, ocsp
from roleport.crypto.errors import OcspError
from tests.e2e.ocsp_responder import Behaviour, Responder


@pytest.fixture(scope="module")
def ca():
    return devpki.create_root_ca("OCSP Test CA")


def _ask(ca, leaf, behaviour: Behaviour | None = None, *, now=None, request=None):
    responder = Responder(ca)
    if behaviour is not None:
        responder.behaviours[leaf.certificate.serial] = behaviour
    request = request or ocsp.build_request(leaf.certificate, ca.certificate)
    body = responder.answer(request.der)
    return ocsp.verify_response(body, request, leaf.certificate, ca.certificate,
                                now or datetime.now(UTC))


def test_good_answer_signed_by_the_issuer(ca) -> None:
    leaf = devpki.issue_leaf(ca, "good")
    answer = _ask(ca, leaf)
    assert answer.status == ocsp.GOOD and answer.signer == "issuer"
    assert answer.next_update is not None


def test_revoked_answer_carries_time_and_reason(ca) -> None:
    leaf = devpki.issue_leaf(ca, "revoked")
    answer = _ask(ca, leaf, Behaviour(status="revoked"))
    assert answer.status == ocsp.REVOKED
    assert answer.revocation_reason == "keyCompromise"
    assert answer.revoked_at is not None


def test_unknown_answer(ca) -> None:
    assert _ask(ca, devpki.issue_leaf(ca, "u"), Behaviour(status="unknown")).status == "unknown"


def test_requests_carry_a_fresh_nonce(ca) -> None:
    leaf = devpki.issue_leaf(ca, "n")
    one, two = (ocsp.build_request(leaf.certificate, ca.certificate) for _ in range(2))
    assert len(one.nonce) == 16 and one.nonce != two.nonce


def test_delegated_responder_with_ocsp_signing_is_accepted(ca) -> None:
    delegate = devpki.issue_leaf(ca, "OCSP Responder", extended_key_usage=["ocsp_signing"])
    leaf = devpki.issue_leaf(ca, "d")
    answer = _ask(ca, leaf, Behaviour(signer=delegate, include_signer=True))
    assert answer.signer == "CN=OCSP Responder"


@pytest.mark.parametrize(("make", "message"), [
    (lambda ca: devpki.issue_leaf(ca, "Not A Responder"), "lacks extendedKeyUsage"),
    (lambda ca: devpki.issue_leaf(devpki.create_root_ca("Elsewhere"), "Foreign Responder",
                                  extended_key_usage=["ocsp_signing"]),
     "is not issued by the certificate's issuer"),
    (lambda ca: devpki.issue_leaf(ca, "Expired Responder", extended_key_usage=["ocsp_signing"],
                                  not_before=datetime.now(UTC) - timedelta(days=3),
                                  not_after=datetime.now(UTC) - timedelta(days=1)),
     "expired"),
])
def test_delegated_responder_must_be_certified_by_the_issuer(ca, make, message) -> None:
    leaf = devpki.issue_leaf(ca, "w")
    with pytest.raises(OcspError, match=message):
        _ask(ca, leaf, Behaviour(signer=make(ca), include_signer=True))


def test_answer_signed_by_an_unrelated_key_is_refused(ca) -> None:
    stranger = devpki.create_root_ca("OCSP Test CA")  # same name, other key
    with pytest.raises(OcspError, match="not signed by the certificate's issuer"):
        _ask(ca, devpki.issue_leaf(ca, "x"), Behaviour(signer=stranger))


def test_expired_and_future_answers_are_refused(ca) -> None:
    leaf = devpki.issue_leaf(ca, "t")
    with pytest.raises(OcspError, match="has expired"):
        _ask(ca, leaf, Behaviour(this_update=timedelta(hours=-3),
                                 next_update=timedelta(hours=-1)))
    with pytest.raises(OcspError, match="not valid yet"):
        _ask(ca, leaf, Behaviour(this_update=timedelta(hours=1)))
    # within the clock skew allowance both pass
    _ask(ca, leaf, Behaviour(this_update=timedelta(minutes=2)))
    _ask(ca, leaf, Behaviour(this_update=timedelta(hours=-1), next_update=timedelta(minutes=-2)))


def test_nonce_must_be_echoed(ca) -> None:
    leaf = devpki.issue_leaf(ca, "nonce")
    with pytest.raises(OcspError, match="did not echo"):
        _ask(ca, leaf, Behaviour(echo_nonce=False))
    request = ocsp.build_request(leaf.certificate, ca.certificate)
    other = ocsp.OcspRequest(request.der, b"\0" * 16)
    with pytest.raises(OcspError, match="not the request's"):
        _ask(ca, leaf, request=other)


def test_answer_about_another_certificate_is_refused(ca) -> None:
    leaf, other = devpki.issue_leaf(ca, "a"), devpki.issue_leaf(ca, "b")
    request = ocsp.build_request(other.certificate, ca.certificate)
    body = Responder(ca).answer(request.der)
    with pytest.raises(OcspError, match="says nothing about serial"):
        ocsp.verify_response(body, request, leaf.certificate, ca.certificate,
                             datetime.now(UTC))


@pytest.mark.parametrize("body", [b"", b"not der", b"\x30\x03\x0a\x01\x06"])
def test_garbage_and_unsuccessful_responses_are_refused(ca, body) -> None:
    leaf = devpki.issue_leaf(ca, "g")
    request = ocsp.build_request(leaf.certificate, ca.certificate)
    with pytest.raises(OcspError):
        ocsp.verify_response(body, request, leaf.certificate, ca.certificate,
                             datetime.now(UTC))
