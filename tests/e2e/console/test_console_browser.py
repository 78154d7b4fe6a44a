"""The web console in a real headless Chromium (Debian's, driven by Playwright) against
a real server over HTTPS: sign-in, a refused sign-in, every page, enable/disable (checked
with boto3), the expiry chart (drawn, coloured, a screenshot kept), redirects without a
valid session, inert markup, and basic accessibility (labels, one h1, landmarks, table
captions, keyboard focus order, visible focus)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS, CONSOLE, Tenant, browser_sign_in

NAV = ["Overview", "Trust anchors", "Profiles", "Roles", "Subjects", "Certificate expiry"]

# what the page tells an assistive technology, checked on every page
_A11Y = """() => {
  const problems = [];
  const fields = [...document.querySelectorAll("input, select, textarea")]
    .filter(e => e.type !== "hidden");
  for (const f of fields) {
    if (!(f.labels && f.labels.length) && !f.getAttribute("aria-label"))
      problems.push("no label: " + (f.name || f.id));
  }
  for (const b of document.querySelectorAll("button"))
    if (!b.textContent.trim() && !b.getAttribute("aria-label")) problems.push("unnamed button");
  for (const t of document.querySelectorAll("table"))
    if (!t.caption || !t.caption.textContent.trim()) problems.push("table without caption");
  const levels = [...document.querySelectorAll("h1, h2, h3, h4")].map(h => +h.tagName[1]);
  for (let i = 1; i < levels.length; i++)
    if (levels[i] > levels[i - 1] + 1) problems.push("heading level skipped");
  return {problems, h1: document.querySelectorAll("h1").length,
          main: document.querySelectorAll("main").length,
          header: document.querySelectorAll("body > header").length,
          lang: document.documentElement.lang};
}"""


def _assert_accessible(page: Any) -> None:
    report = page.evaluate(_A11Y)
    assert report["problems"] == [], page.url
    assert report["h1"] == 1 and report["main"] == 1 and report["header"] == 1
    assert report["lang"] == "en"


def test_sign_in_then_every_page(page: Any, tenant: Tenant) -> None:
    browser_sign_in(page, tenant.account)
    assert page.url.endswith(f"{CONSOLE}/overview")
    for label in NAV:
        page.get_by_role("navigation", name="Console pages").get_by_role(
            "link", name=label, exact=True).click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == label
        current = page.locator("nav a[aria-current=page]")
        assert current.inner_text() == label
        _assert_accessible(page)
    page.goto(f"{CONSOLE}/trust-anchors")
    for name in tenant.anchors:
        assert page.get_by_role("button", name=f"Disable {name}").count() == 1
    page.goto(f"{CONSOLE}/overview")
    refusals = page.get_by_role("table", name="The latest refused CreateSession attempts")
    assert "CN=mallory" in refusals.inner_text()
    assert page.problems == []


def test_a_refused_sign_in_says_why_and_keeps_the_key_id(page: Any, tenant: Tenant) -> None:
    browser_sign_in(page, tenant.account, secret="wrong-secret")
    assert f"{CONSOLE}/signin" in page.url
    assert "is not correct" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Access key ID").input_value() == tenant.account.access_key_id
    assert page.get_by_label("Secret access key").input_value() == ""
    _assert_accessible(page)
    page.goto(f"{CONSOLE}/overview")
    assert f"{CONSOLE}/signin" in page.url  # still not signed in


def test_a_page_without_a_session_goes_to_sign_in_and_back(page: Any, tenant: Tenant) -> None:
    page.goto(f"{CONSOLE}/profiles")
    assert f"{CONSOLE}/signin?next=" in page.url
    page.get_by_label("Access key ID").fill(tenant.account.access_key_id)
    page.get_by_label("Secret access key").fill(tenant.account.secret_access_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{CONSOLE}/profiles")
    assert page.get_by_role("heading", level=1).inner_text() == "Profiles"


def test_a_forged_cookie_goes_to_sign_in(page: Any, tenant: Tenant) -> None:
    browser_sign_in(page, tenant.account)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "__Secure-roleport_console"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
    page.context.add_cookies([{**cookie, "value": cookie["value"][:-4] + "AAAA"}])
    page.goto(f"{CONSOLE}/trust-anchors")
    assert f"{CONSOLE}/signin" in page.url


@pytest.mark.parametrize("kind", ["trust anchor", "profile"])
def test_disable_and_enable_from_the_console(signed_page: Any, tenant: Tenant,
                                            kind: str) -> None:
    if kind == "trust anchor":
        name, path = "short-lived", "trust-anchors"

        def enabled() -> bool:
            return tenant.ra.get_trust_anchor(trustAnchorId=tenant.anchors[name])[
                "trustAnchor"]["enabled"]
    else:
        name, path = "p", "profiles"

        def enabled() -> bool:
            return tenant.ra.get_profile(profileId=tenant.profile_id)["profile"]["enabled"]

    page = signed_page
    page.goto(f"{CONSOLE}/{path}")
    assert enabled()
    page.get_by_role("button", name=f"Disable {name}", exact=True).click()
    page.wait_for_load_state()
    assert "is now disabled" in page.get_by_role("status").inner_text()
    assert not enabled()
    page.get_by_role("button", name=f"Enable {name}", exact=True).click()
    page.wait_for_load_state()
    assert "is now enabled" in page.get_by_role("status").inner_text()
    assert enabled()
    assert page.problems == []


def test_the_expiry_chart_is_drawn_and_coloured_by_threshold(signed_page: Any,
                                                              tmp_path: Path) -> None:
    page = signed_page
    page.goto(f"{CONSOLE}/expiry?horizon=all")
    chart = page.locator("#expiry-chart")
    box = chart.bounding_box()
    assert box and box["width"] > 800 and box["height"] > 150
    bars = chart.locator("g.bar")
    # five CA certificates (the "ca" anchor holds a root and an intermediate), three leaves
    assert bars.count() == 8
    states = {s: chart.locator(f"g.bar.{s}").count() for s in ("expired", "due", "ok",
                                                               "silent")}
    # due: Short Lived CA (20 days, threshold 45) and alice (30 days); silent: Quiet CA;
    # expired: mallory
    assert states == {"expired": 1, "due": 2, "ok": 4, "silent": 1}
    colours = page.evaluate("""() => Object.fromEntries(["expired", "due", "ok", "silent"]
        .map(s => [s, getComputedStyle(document.querySelector(
            "#expiry-chart g.bar." + s + " rect")).fill]))""")
    assert len(set(colours.values())) == 4 and "rgb(0, 0, 0)" not in colours.values()
    assert chart.locator("g.bar.due", has_text="Short Lived CA").count() == 1
    assert chart.locator("g.bar.silent", has_text="Quiet CA").count() == 1
    widths = page.evaluate("""() => [...document.querySelectorAll("#expiry-chart rect")]
        .map(r => r.getBoundingClientRect().width)""")
    assert all(w > 0 for w in widths)
    # each bar is a focusable image named by its details, inside a labelled group
    assert page.get_by_role("group", name="Certificate expiry timeline").count() == 1
    assert chart.get_by_role("img").count() == 8
    quiet = chart.get_by_role("img", name="CN=Quiet CA", exact=False)
    assert "notifications disabled" in quiet.get_attribute("aria-label")
    # the script (no inline script: the CSP allows console.js only) shows a bar's details
    detail = page.locator("#chart-detail")
    chart.locator("g.bar.expired").focus()
    assert "mallory" in detail.inner_text() and "expired" in detail.inner_text()
    _assert_accessible(page)
    assert page.problems == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for target in (tmp_path / "expiry-chart.png", ARTIFACTS / "expiry-chart.png"):
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000


def test_markup_in_certificates_and_roles_is_inert(signed_page: Any, tenant: Tenant) -> None:
    page = signed_page
    for path in ("trust-anchors", "subjects", "roles", "expiry?horizon=all", "overview"):
        page.goto(f"{CONSOLE}/{path}")
        assert page.evaluate("window.pwned") is None, path
        assert page.locator("main img").count() == 0, path
        assert page.locator("main script").count() == 0, path
    page.goto(f"{CONSOLE}/subjects")
    assert 'img src=x onerror=\\"window.pwned=1' in page.locator("main").inner_text()
    page.goto(f"{CONSOLE}/roles")
    page.get_by_text("Show the trust policy of described").click()
    assert '<script>alert("role")</script>' in page.locator("main").inner_text()
    assert page.problems == []


def test_keyboard_focus_follows_the_page_order_and_is_visible(page: Any,
                                                              tenant: Tenant) -> None:
    page.goto(f"{CONSOLE}/signin")
    focused = "() => document.activeElement.id || document.activeElement.textContent.trim()"
    assert page.evaluate(focused) == "access_key_id"  # autofocus
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(page.evaluate(focused))
    assert order == ["secret_access_key", "region", "Sign in"]

    browser_sign_in(page, tenant.account)
    page.evaluate("document.activeElement.blur()")
    order = []
    for _ in range(9):
        page.keyboard.press("Tab")
        order.append(page.evaluate(focused))
    assert order == ["Skip to the content", "Roleport console", *NAV, "Sign out"]
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    # the skip link moves the focus to the main content
    page.goto(f"{CONSOLE}/overview")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
