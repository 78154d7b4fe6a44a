"""The web console over plain HTTP requests, against a real server: cookie flags,
security headers, sessions that cannot be forged or outlive their expiry, CSRF, tenant
scoping, escaping, throttled sign-in, and ``--no-console``."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import pytest

from roleport.config import Settings
from roleport.console.tokens import SessionTokens
from roleport.server.bootstrap import ensure_keyring
from roleport.testing import RoleportServer

from .conftest import (
    CA_MARKUP,
    CONSOLE,
    LEAF_MARKUP,
    ROLE_MARKUP,
    Tenant,
    csrf_of,
    http_client,
    origin_of,
    sign_in,
)

PAGES = ["overview", "trust-anchors", "profiles", "roles", "subjects", "expiry"]


def _cookie_line(response: httpx.Response, name: str) -> str:
    lines = [v for v in response.headers.get_list("set-cookie") if v.startswith(name + "=")]
    assert len(lines) == 1, response.headers.get_list("set-cookie")
    return lines[0]


def _flags(line: str) -> dict[str, str]:
    parts = [p.strip() for p in line.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "")
            for p in parts}


@pytest.mark.parametrize("page", PAGES)
def test_a_page_without_a_session_redirects_to_sign_in(tenant: Tenant, page: str) -> None:
    with http_client(tenant.server) as client:
        answer = client.get(f"{CONSOLE}/{page}?horizon=90")
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"{CONSOLE}/signin?next=%2F_roleport%2Fconsole%2F{page}%3Fhorizon%3D90")
    assert answer.headers["cache-control"] == "no-store"


def test_sign_in_sets_a_strict_path_scoped_expiring_cookie(tenant: Tenant) -> None:
    with http_client(tenant.server) as client:
        answer = sign_in(client, tenant.account)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{CONSOLE}/overview"
    flags = _flags(_cookie_line(answer, "__Secure-roleport_console"))
    assert {"httponly", "secure"} <= set(flags)
    assert flags["samesite"] == "Strict"
    assert flags["path"] == CONSOLE
    assert flags["max-age"] == str(8 * 3600)
    # the sign-in form's own cookie goes
    assert _flags(_cookie_line(answer, "__Secure-roleport_console_signin"))["max-age"] == "0"


def _assert_security_headers(answer: httpx.Response, *, data: bool = True) -> None:
    csp = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    if data:
        assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_the_security_headers(signed_in: httpx.Client, page: str) -> None:
    answer = signed_in.get(f"{CONSOLE}/{page}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    _assert_security_headers(answer)
    assert answer.text.count("<h1>") == 1
    assert "<script>" not in answer.text  # no inline script anywhere (the CSP forbids it)
    assert f'<script src="{CONSOLE}/static/console.js" defer></script>' in answer.text


def test_the_sign_in_page_and_static_files_have_them_too(tenant: Tenant) -> None:
    with http_client(tenant.server) as client:
        _assert_security_headers(client.get(f"{CONSOLE}/signin"))
        css = client.get(f"{CONSOLE}/static/console.css")
        js = client.get(f"{CONSOLE}/static/console.js")
        missing = [client.get(f"{CONSOLE}/static/{name}").status_code
                   for name in ("missing.css", "..%2fapp.py", "%2e%2e%2f__init__.py")]
    assert css.headers["content-type"].startswith("text/css")
    assert js.headers["content-type"].startswith("text/javascript")
    _assert_security_headers(css, data=False)
    assert missing == [404, 404, 404]


def test_other_methods_and_paths_get_clear_answers(tenant: Tenant) -> None:
    with http_client(tenant.server) as client:
        put = client.put(f"{CONSOLE}/overview")
        head = client.head(f"{CONSOLE}/signin")
        nowhere = client.get(f"{CONSOLE}/nowhere")
        action = client.post(f"{CONSOLE}/trust-anchors/not-an-id/disable")
        root = client.get(CONSOLE)
    assert put.status_code == 405 and put.headers["allow"] == "GET, HEAD, POST"
    assert head.status_code == 200 and head.content == b""
    assert nowhere.status_code == 404 and action.status_code == 404
    assert root.status_code == 303 and root.headers["location"] == f"{CONSOLE}/signin"
    for answer in (put, nowhere, action):
        _assert_security_headers(answer)


def test_a_wrong_secret_or_unknown_key_is_refused_alike(tenant: Tenant) -> None:
    with http_client(tenant.server) as client:
        wrong = sign_in(client, tenant.account, secret="not-the-secret")
        unknown = client.post(f"{CONSOLE}/signin", data={
            "csrf_token": csrf_of(client.get(f"{CONSOLE}/signin").text),
            "access_key_id": "AKIAUNKNOWNKEY000000", "secret_access_key": "x",
            "region": "us-east-1"})
        after = client.get(f"{CONSOLE}/overview")
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "is not correct" in answer.text
        assert not any(v.startswith("__Secure-roleport_console=")
                       for v in answer.headers.get_list("set-cookie"))
    assert tenant.account.secret_access_key not in wrong.text
    assert after.status_code == 303


def test_a_sign_in_without_its_form_token_is_refused(tenant: Tenant) -> None:
    with http_client(tenant.server) as client:
        answer = client.post(f"{CONSOLE}/signin", data={
            "access_key_id": tenant.account.access_key_id,
            "secret_access_key": tenant.account.secret_access_key, "region": "us-east-1"})
    assert answer.status_code == 403
    assert "expired or was not sent by this console" in answer.text


def _session_cookie(client: httpx.Client) -> str:
    return client.cookies["__Secure-roleport_console"]


def _with_cookie(server: RoleportServer, token: str, path: str) -> httpx.Response:
    with http_client(server) as client:
        return client.get(f"{CONSOLE}/{path}",
                          headers={"Cookie": f"__Secure-roleport_console={token}"})


def test_a_forged_cookie_is_refused_and_cleared(signed_in: httpx.Client,
                                                tenant: Tenant) -> None:
    token = _session_cookie(signed_in)
    assert _with_cookie(tenant.server, token, "trust-anchors").status_code == 200
    version, key_id, payload, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["exp"] += 3600
    longer = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    for forged in (f"{version}.{key_id}.{longer}.{mac}", token[:-2] + "AA", "garbage"):
        answer = _with_cookie(tenant.server, forged, "trust-anchors")
        assert answer.status_code == 303, forged
        assert answer.headers["location"].startswith(f"{CONSOLE}/signin")
        assert _flags(_cookie_line(answer, "__Secure-roleport_console"))["max-age"] == "0"


def _server_tokens(server: RoleportServer, *, issued_ago: float, lifetime: int) -> \
        SessionTokens:
    keyring = ensure_keyring(Settings(data_dir=server.data_dir))
    return SessionTokens(keyring, lifetime, clock=lambda: time.time() - issued_ago)


def test_an_expired_session_is_refused(tenant: Tenant) -> None:
    account = tenant.account

    def token(issued_ago: float) -> str:
        tokens = _server_tokens(tenant.server, issued_ago=issued_ago, lifetime=3600)
        return tokens.issue(account.access_key_id, account.account_id, "us-east-1",
                            account.secret_access_key)[0]

    # made with the server's key: accepted while it lasts, refused after
    assert _with_cookie(tenant.server, token(3500), "overview").status_code == 200
    answer = _with_cookie(tenant.server, token(3700), "overview")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{CONSOLE}/signin")


def _anchor_enabled(tenant: Tenant, name: str = "ca") -> bool:
    return tenant.ra.get_trust_anchor(
        trustAnchorId=tenant.anchors[name])["trustAnchor"]["enabled"]


def test_an_action_needs_this_sessions_csrf_token_and_origin(tenant: Tenant,
                                                             signed_in: httpx.Client,
                                                             other_tenant: Tenant) -> None:
    url = f"{CONSOLE}/trust-anchors/{tenant.anchors['ca']}/disable"
    origin = {"Origin": origin_of(signed_in)}
    with http_client(tenant.server) as other:
        sign_in(other, tenant.account)
        foreign_token = csrf_of(other.get(f"{CONSOLE}/overview").text)
    token = csrf_of(signed_in.get(f"{CONSOLE}/trust-anchors").text)
    attempts = [({}, origin), ({"csrf_token": ""}, origin),
                ({"csrf_token": foreign_token}, origin),
                ({"csrf_token": token}, {"Origin": "https://evil.example"}),
                ({"csrf_token": token}, {"Sec-Fetch-Site": "cross-site"})]
    for fields, headers in attempts:
        answer = signed_in.post(url, data=fields, headers=headers)
        assert answer.status_code == 403, (fields, headers)
        assert "Request refused" in answer.text
    assert _anchor_enabled(tenant)
    # a GET never changes anything
    assert signed_in.get(url).status_code == 404
    assert _anchor_enabled(tenant)


def test_enable_and_disable_go_through_the_domain(tenant: Tenant,
                                                  signed_in: httpx.Client) -> None:
    token = csrf_of(signed_in.get(f"{CONSOLE}/profiles").text)
    base = f"{CONSOLE}/profiles/{tenant.profile_id}"
    answer = signed_in.post(f"{base}/disable", data={"csrf_token": token},
                            headers={"Origin": origin_of(signed_in)})
    assert answer.status_code == 303
    assert answer.headers["location"] == (f"{CONSOLE}/profiles?changed={tenant.profile_id}"
                                          f"&state=disabled")
    profile = tenant.ra.get_profile(profileId=tenant.profile_id)["profile"]
    assert profile["enabled"] is False
    notice = signed_in.get(answer.headers["location"]).text
    assert "is now disabled" in notice
    signed_in.post(f"{base}/enable", data={"csrf_token": token})
    assert tenant.ra.get_profile(profileId=tenant.profile_id)["profile"]["enabled"] is True
    def logged() -> bool:  # this tenant's console lines (another test may have others)
        lines = [line for line in tenant.server.output if '"service": "console"' in line
                 and tenant.account.account_id in line]
        return all(any(f'"operation": "{op}"' in line for line in lines)
                   for op in ("DisableProfile", "EnableProfile"))

    deadline = time.monotonic() + 10  # the access-log lines follow the responses
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logged()
    assert not any(tenant.account.secret_access_key in line for line in tenant.server.output)


def test_an_account_sees_and_changes_only_its_own_resources(tenant: Tenant,
                                                            other_tenant: Tenant) -> None:
    mine = tenant.anchors["ca"]
    with http_client(tenant.server) as client:
        sign_in(client, other_tenant.account)
        anchors = client.get(f"{CONSOLE}/trust-anchors").text
        subjects = client.get(f"{CONSOLE}/subjects").text
        assert other_tenant.anchors["ca"] in anchors
        assert mine not in anchors and "short-lived" not in anchors
        assert "CN=alice" not in subjects
        answer = client.post(f"{CONSOLE}/trust-anchors/{mine}/disable",
                             data={"csrf_token": csrf_of(anchors)})
    assert answer.status_code == 404
    assert "was not found in this account" in answer.text
    assert _anchor_enabled(tenant)


def test_markup_in_names_and_descriptions_is_escaped(signed_in: httpx.Client) -> None:
    pages = {name: signed_in.get(f"{CONSOLE}/{name}").text
             for name in ("trust-anchors", "subjects", "roles", "expiry?horizon=all")}
    for name, text in pages.items():
        # the one script element is console.js; the markup shows as text
        assert text.count("<script") == 1, name
        assert "<img" not in text and "onerror=\"window" not in text, name
    assert "&lt;script\\&gt;window.pwned" in pages["trust-anchors"]  # the DN, RFC 4514
    assert "&lt;script&gt;window.pwned=&#34;ca&#34;" in pages["expiry?horizon=all"]  # its CN
    assert "&lt;img src=x onerror=" in pages["subjects"]
    assert "&lt;script&gt;alert(&#34;role&#34;)&lt;/script&gt;" in pages["roles"]
    assert CA_MARKUP not in pages["expiry?horizon=all"] and ROLE_MARKUP not in pages["roles"]
    assert LEAF_MARKUP not in pages["subjects"]


def test_subjects_show_the_last_refusals_with_their_reasons(signed_in: httpx.Client,
                                                            tenant: Tenant) -> None:
    page = signed_in.get(f"{CONSOLE}/subjects").text
    refusals = page.split('id="subjects-heading"')[0]
    assert "CN=mallory" in refusals and "CN=alice" not in refusals
    assert "expired" in refusals  # the check that refused it and why
    assert "CN=alice" in page


def test_the_next_page_after_sign_in_stays_in_the_console(tenant: Tenant) -> None:
    with http_client(tenant.server) as client:
        form = client.get(f"{CONSOLE}/signin?next=https://evil.example/").text
        assert 'name="next"' not in form
        answer = client.post(f"{CONSOLE}/signin", data={
            "csrf_token": csrf_of(form), "next": "//evil.example/x",
            "access_key_id": tenant.account.access_key_id,
            "secret_access_key": tenant.account.secret_access_key, "region": "us-east-1"})
        assert answer.headers["location"] == f"{CONSOLE}/overview"
        form = client.get(f"{CONSOLE}/signin?next={CONSOLE}/roles").text
        answer = client.post(f"{CONSOLE}/signin", data={
            "csrf_token": csrf_of(form), "next": f"{CONSOLE}/roles",
            "access_key_id": tenant.account.access_key_id,
            "secret_access_key": tenant.account.secret_access_key, "region": "us-east-1"})
        assert answer.headers["location"] == f"{CONSOLE}/roles"


def test_sign_out_clears_the_cookie(signed_in: httpx.Client) -> None:
    token = csrf_of(signed_in.get(f"{CONSOLE}/overview").text)
    assert signed_in.post(f"{CONSOLE}/signout", data={}).status_code == 403
    answer = signed_in.post(f"{CONSOLE}/signout", data={"csrf_token": token})
    assert answer.status_code == 303
    assert _flags(_cookie_line(answer, "__Secure-roleport_console"))["max-age"] == "0"
    assert signed_in.get(f"{CONSOLE}/overview").status_code == 303


# -- servers of their own ------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    args = ["--auth-failure-rate", "0.05", "--auth-failure-burst", "3",
            "--console-session-hours", "0.5"]
    with RoleportServer(Path(tmp_path_factory.mktemp("guarded")) / "data", http=True,
                        extra_args=args) as srv:
        yield srv


def _from(server: RoleportServer, source: str) -> httpx.Client:
    return httpx.Client(base_url=server.endpoint, timeout=15,
                        transport=httpx.HTTPTransport(local_address=source))


def test_sign_in_attempts_are_throttled_like_api_calls(guarded: RoleportServer) -> None:
    account = guarded.admin
    with _from(guarded, "127.0.0.7") as client:
        answers = [sign_in(client, account, secret="wrong").status_code for _ in range(3)]
        throttled = sign_in(client, account, secret="wrong")
        right = sign_in(client, account)
    assert answers == [401, 401, 401]
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    assert "too many failed authentication attempts" in throttled.text
    assert right.status_code == 429  # the address is throttled, correct secret or not
    with _from(guarded, "127.0.0.8") as elsewhere:
        assert sign_in(elsewhere, account).status_code == 303


def test_over_plain_http_the_cookie_is_not_secure(guarded: RoleportServer) -> None:
    with _from(guarded, "127.0.0.9") as client:
        answer = sign_in(client, guarded.admin)
    assert answer.status_code == 303
    flags = _flags(_cookie_line(answer, "roleport_console"))
    assert "secure" not in flags and "httponly" in flags and flags["samesite"] == "Strict"
    assert flags["max-age"] == "1800"  # --console-session-hours 0.5


def test_no_console_turns_it_off(tmp_path: Path) -> None:
    with RoleportServer(tmp_path / "data", http=True, extra_args=["--no-console"]) as srv:
        answer = httpx.get(f"{srv.endpoint}{CONSOLE}/signin")
    assert answer.status_code in (400, 403)
    assert "html" not in answer.headers.get("content-type", "")


def test_a_session_is_valid_on_every_worker_and_replica(tmp_path: Path) -> None:
    """Nothing of a session lives in a process: a second server on the same data dir
    (keys and database), with two workers, accepts the cookie the first one set."""
    data = tmp_path / "data"
    with RoleportServer(data, http=True) as first, \
            RoleportServer(data, http=True, extra_args=["--workers", "2"]) as second:
        with _from(first, "127.0.0.10") as client:
            assert sign_in(client, first.admin).status_code == 303
            token = client.cookies["roleport_console"]
        for _ in range(6):  # new connections, spread over the second server's workers
            answer = httpx.get(f"{second.endpoint}{CONSOLE}/overview",
                               headers={"Cookie": f"roleport_console={token}"})
            assert answer.status_code == 200
            assert first.admin.account_id in answer.text
