"""The console's HTTP helpers (roleport.console.http) and its sign-in redirect rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from roleport.console import http
from roleport.console.app import _safe_next
from roleport.server.http import Request


def _request(headers: list[tuple[str, str]], body: bytes = b"",
             content_type: str = "application/x-www-form-urlencoded") -> Request:
    return Request("POST", "/_roleport/console/signin", "",
                   [("content-type", content_type), *headers], body)


def test_cookies_first_of_each_name_wins() -> None:
    request = _request([("cookie", "a=1; b=2"), ("cookie", 'a=3; c="4"; junk')])
    assert http.cookies(request) == {"a": "1", "b": "2", "c": "4"}


def test_a_form_is_read_only_when_it_is_one() -> None:
    assert http.form(_request([], b"x=1&x=2&y=")) == {"x": "1", "y": ""}
    assert http.form(_request([], b"x=1", "application/json")) is None
    assert http.form(_request([], b"\xff")) is None
    assert http.form(_request([], b"&".join(b"f%d=1" % i for i in range(50)))) is None
    assert http.form(_request([], b"x=" + b"a" * http.MAX_FORM_BYTES)) is None


def test_same_origin_reads_origin_and_sec_fetch_site() -> None:
    host = [("host", "roleport.example:8443")]
    assert http.same_origin(_request(host), "https")
    assert http.same_origin(_request(host + [("origin", "https://roleport.example:8443"),
                                             ("sec-fetch-site", "same-origin")]), "https")
    assert not http.same_origin(_request(host + [("origin", "https://evil.example")]),
                                "https")
    assert not http.same_origin(_request(host + [("origin", "http://roleport.example:8443")]),
                                "https")
    assert not http.same_origin(_request(host + [("origin", "null")]), "https")
    assert not http.same_origin(_request(host + [("sec-fetch-site", "same-site")]), "https")


def test_the_cookie_is_strict_and_scoped() -> None:
    name, value = http.set_cookie("s", "v", max_age=60, secure=True)
    assert name == "Set-Cookie"
    assert value == "s=v; Path=/_roleport/console; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
    assert "Secure" not in http.set_cookie("s", "v", max_age=60, secure=False)[1]
    assert "Max-Age=0" in http.clear_cookie("s", secure=False)[1]


def test_only_a_console_page_is_a_target_after_sign_in() -> None:
    assert _safe_next("/_roleport/console/roles?x=1") == "/_roleport/console/roles?x=1"
    for bad in (None, "", "https://evil.example/", "//evil.example/", "/_roleport/health",
                "/_roleport/console//evil.example", "/_roleport/console/\\evil",
                "/_roleport/consolex", "/_roleport/console/signin?next=x",
                "/_roleport/console/" + "a" * 600):
        assert _safe_next(bad) is None, bad


@given(st.text(max_size=200), st.binary(max_size=300))
def test_hostile_headers_and_bodies_never_raise(cookie: str, body: bytes) -> None:
    request = _request([("cookie", cookie), ("origin", cookie)], body)
    http.cookies(request)
    http.form(request)
    http.same_origin(request, "https")
