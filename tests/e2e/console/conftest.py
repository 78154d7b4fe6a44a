"""What the web console tests share: a tenant with something to show (trust anchors in
each notification state, a profile, roles, subjects that succeeded and were refused,
markup in certificate names and a role description), a second tenant, a signed-in HTTP
client, and a headless Debian chromium driven by Playwright."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from roleport.crypto import devpki
from roleport.testing import Account, RoleportServer

from ..clients.support import Setup, post_session, tls_context, trust_policy

CONSOLE = "/_roleport/console"
CHROMIUM = "/usr/bin/chromium"
#: markup where a certificate's CN and a role's description show on the pages
CA_MARKUP = '<script>window.pwned="ca"</script>'
LEAF_MARKUP = '<img src=x onerror="window.pwned=1">'
ROLE_MARKUP = '<script>alert("role")</script>'
#: where the tests leave screenshots (ignored by git)
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"


@dataclass
class Tenant:
    server: RoleportServer
    account: Account
    setup: Setup
    #: trust anchor name -> its id
    anchors: dict[str, str] = field(default_factory=dict)
    #: x509 subjects the server recorded, by what happened
    refused: list[str] = field(default_factory=list)
    succeeded: list[str] = field(default_factory=list)

    @property
    def ra(self) -> Any:
        return self.setup.ra

    @property
    def profile_id(self) -> str:
        return self.setup.profile["profileId"]


def _anchor(setup: Setup, name: str, *cas: devpki.IssuedCertificate, **kw: Any) -> str:
    return setup.ra.create_trust_anchor(name=name, enabled=True, source={
        "sourceType": "CERTIFICATE_BUNDLE",
        "sourceData": {"x509CertificateData": "".join(c.cert_pem for c in cas)}},
        **kw)["trustAnchor"]["trustAnchorId"]


@pytest.fixture(scope="module")
def tenant(server: RoleportServer, pki) -> Tenant:  # noqa: ANN001
    """One account: four trust anchors (ok, due, silent, and one whose CA's CN is markup),
    a role whose description is markup, a profile, and CreateSession attempts that
    succeeded and were refused."""
    account = server.new_account()
    setup = Setup(server, account, [pki.root, pki.intermediate])
    tenant = Tenant(server, account, setup, {"ca": setup.trust_anchor["trustAnchorId"]})
    tenant.anchors["short-lived"] = _anchor(setup, "short-lived",
                                            devpki.create_root_ca("Short Lived CA", days=20))
    tenant.anchors["quiet"] = _anchor(
        setup, "quiet", devpki.create_root_ca("Quiet CA", days=200),
        notificationSettings=[{"event": "CA_CERTIFICATE_EXPIRY", "enabled": False}])
    tenant.anchors["marked-up"] = _anchor(setup, "marked-up",
                                          devpki.create_root_ca(CA_MARKUP, days=400))
    setup.iam.create_role(RoleName="described", AssumeRolePolicyDocument=trust_policy(),
                          Description=ROLE_MARKUP)

    alice = devpki.issue_leaf(pki.intermediate, "alice", days=30)
    assert post_session(server, alice, body=setup.arns).status_code == 201
    tenant.succeeded.append("CN=alice")
    now = datetime.now(UTC)
    expired = devpki.issue_leaf(pki.intermediate, "mallory", not_before=now - timedelta(
        days=40), not_after=now - timedelta(days=2))
    assert post_session(server, expired, body=setup.arns).status_code == 403
    tenant.refused.append("CN=mallory")
    marked = devpki.issue_leaf(pki.other_root, LEAF_MARKUP, days=60)
    assert post_session(server, marked, body=setup.arns, chain=[]).status_code == 403
    tenant.refused.append(marked.certificate.subject_dn)
    return tenant


@pytest.fixture(scope="module")
def other_tenant(server: RoleportServer, pki) -> Tenant:  # noqa: ANN001
    """A second account, with a trust anchor of its own."""
    account = server.new_account()
    setup = Setup(server, account, [pki.other_root])
    return Tenant(server, account, setup, {"ca": setup.trust_anchor["trustAnchorId"]})


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def http_client(server: RoleportServer) -> httpx.Client:
    return httpx.Client(base_url=server.endpoint, verify=tls_context(server), timeout=15,
                        follow_redirects=False)


def sign_in(client: httpx.Client, account: Account, *, secret: str | None = None,
            region: str = "us-east-1") -> httpx.Response:
    form = client.get(f"{CONSOLE}/signin")
    assert form.status_code == 200
    return client.post(f"{CONSOLE}/signin", data={
        "csrf_token": csrf_of(form.text), "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key if secret is None else secret,
        "region": region}, headers={"Origin": origin_of(client)})


def origin_of(client: httpx.Client) -> str:
    return f"{client.base_url.scheme}://{client.base_url.netloc.decode()}"


@pytest.fixture()
def signed_in(tenant: Tenant) -> Iterator[httpx.Client]:
    with http_client(tenant.server) as client:
        answer = sign_in(client, tenant.account)
        assert answer.status_code == 303, answer.text
        yield client


# -- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the browser tests' module. Not session-wide: Playwright's sync API
    keeps an event loop running in this thread while it is open, and later tests in the
    same worker that call asyncio.run() would fail."""
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (bash .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def _new_page(browser: Any, server: RoleportServer, state: Any = None) -> Iterator[Any]:
    context = browser.new_context(ignore_https_errors=True, base_url=server.endpoint,
                                  viewport={"width": 1280, "height": 900},
                                  storage_state=state)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))

    def dialog(d: Any) -> None:
        tab.problems.append(f"dialog: {d.message}")
        d.dismiss()

    tab.on("dialog", dialog)
    yield tab
    context.close()


@pytest.fixture()
def page(browser: Any, server: RoleportServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) whose console errors (CSP violations
    included) and dialogs are recorded on ``page.problems``."""
    yield from _new_page(browser, server)


@pytest.fixture(scope="module")
def signed_in_state(browser: Any, tenant: Tenant) -> Any:
    """The cookies of one browser sign-in of ``tenant``, for tests that start signed in."""
    for tab in _new_page(browser, tenant.server):
        browser_sign_in(tab, tenant.account)
        assert tab.url.endswith(f"{CONSOLE}/overview"), tab.url
        return tab.context.storage_state()
    raise AssertionError("unreachable")


@pytest.fixture()
def signed_page(browser: Any, tenant: Tenant, signed_in_state: Any) -> Iterator[Any]:
    """Like ``page``, signed in as ``tenant`` (with the cookie of ``signed_in_state``)."""
    yield from _new_page(browser, tenant.server, signed_in_state)


def browser_sign_in(page: Any, account: Account, *, secret: str | None = None) -> None:
    page.goto(f"{CONSOLE}/signin")
    page.get_by_label("Access key ID").fill(account.access_key_id)
    page.get_by_label("Secret access key").fill(
        account.secret_access_key if secret is None else secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
