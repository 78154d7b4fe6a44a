"""OcspChecker (roleport.domain.revocation): which certificates of a path are asked, the
cache, soft-fail, and a tag value it does not know (failing closed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from roleport.crypto import devpki
from roleport.domain.model import Tag
from roleport.domain.revocation import FetchError, OcspChecker, RevocationProblem, ocsp_mode
from tests.e2e.ocsp_responder import Behaviour, Responder

URL = "http://ocsp.test/inter"  # the intermediate's responder (about the leaf)
ROOT_URL = "http://ocsp.test/root"  # the root's responder (about the intermediate)


class Fetcher:
    def __init__(self, responders: dict[str, Responder] | None) -> None:
        self.responders = responders
        self.calls: list[str] = []

    def __call__(self, url: str, request: bytes) -> bytes:
        self.calls.append(url)
        if self.responders is None:
            raise FetchError("unreachable (refused)")
        return self.responders[url].answer(request)


@pytest.fixture(scope="module")
def pki():
    root = devpki.create_root_ca("Checker Root")
    inter = devpki.create_intermediate_ca(root, cn="Checker Intermediate",
                                          ocsp_urls=[ROOT_URL])
    leaf = devpki.issue_leaf(inter, "checked", ocsp_urls=[URL])
    return root, inter, leaf


def test_asks_every_certificate_naming_a_responder_and_caches(pki) -> None:
    root, inter, leaf = pki
    fetcher = Fetcher({URL: Responder(inter), ROOT_URL: Responder(root)})
    checker = OcspChecker(fetcher)
    path = [leaf.certificate, inter.certificate, root.certificate]
    now = datetime.now(UTC)
    assert checker.check(path, "enabled", now) == [
        f"CN=checked: good at {URL}", f"CN=Checker Intermediate: good at {ROOT_URL}"]
    checker.check(path, "enabled", now)
    assert fetcher.calls == [URL, ROOT_URL]


def test_soft_fail_forgives_silence_but_not_revocation(pki) -> None:
    root, inter, leaf = pki
    path = [leaf.certificate, inter.certificate]
    now = datetime.now(UTC)
    with pytest.raises(RevocationProblem) as exc:
        OcspChecker(Fetcher(None)).check(path, "enabled", now)
    assert exc.value.unchecked and "unreachable (refused)" in exc.value.message
    notes = OcspChecker(Fetcher(None)).check(path, "soft-fail", now)
    assert notes[0].startswith("CN=checked: unchecked (soft-fail): no valid OCSP answer")
    responder = Responder(inter)
    responder.behaviours[leaf.certificate.serial] = Behaviour(status="revoked")
    with pytest.raises(RevocationProblem) as exc:
        OcspChecker(Fetcher({URL: responder})).check(path, "soft-fail", now)
    assert exc.value.revoked


def test_an_unknown_mode_fails_closed_without_asking(pki) -> None:
    fetcher = Fetcher(None)
    with pytest.raises(RevocationProblem, match="expected one of enabled, soft-fail"):
        OcspChecker(fetcher).check([pki[2].certificate, pki[1].certificate], "sometimes",
                                   datetime.now(UTC))
    assert fetcher.calls == []


def test_tag_values() -> None:
    assert ocsp_mode([Tag("roleport:ocsp", " Enabled ")]) == "enabled"
    assert ocsp_mode([Tag("roleport:ocsp", "off")]) is None
    assert ocsp_mode([Tag("other", "enabled")]) is None
