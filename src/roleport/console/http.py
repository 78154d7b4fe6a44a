"""The HTTP pieces of the console: cookies, forms, security headers, redirects. Every
console response goes through :func:`page_headers` (or :func:`static_headers`)."""

from __future__ import annotations

from urllib.parse import parse_qs

from roleport.server.http import Request
from roleport.spec.serializer import Response

PREFIX = "/_roleport/console"
MAX_FORM_BYTES = 16 * 1024

#: no inline script or style anywhere: the pages load console.js and console.css only
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; connect-src 'none'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")

_COMMON = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    # same-origin, not no-referrer: browsers send "Origin: null" on form posts under
    # no-referrer, and the console checks Origin on every POST
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
]


def page_headers(content_type: str = "text/html; charset=utf-8") -> list[tuple[str, str]]:
    return [("Content-Type", content_type), ("Cache-Control", "no-store"),
            ("Pragma", "no-cache"), *_COMMON]


def static_headers(content_type: str) -> list[tuple[str, str]]:
    return [("Content-Type", content_type), ("Cache-Control", "public, max-age=300"),
            *_COMMON]


def html(status: int, body: str, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, page_headers() + list(extra or []), body.encode("utf-8"))


def redirect(location: str, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(303, page_headers("text/plain; charset=utf-8") + [("Location", location)]
                    + list(extra or []), b"")


def cookies(request: Request) -> dict[str, str]:
    """The request's cookies (the first of each name wins, as browsers order them)."""
    out: dict[str, str] = {}
    for name, value in request.headers:
        if name != "cookie":
            continue
        for part in value.split(";"):
            key, sep, val = part.strip().partition("=")
            if sep and key and key not in out:
                out[key] = val.strip().strip('"')
    return out


def set_cookie(name: str, value: str, *, max_age: int, secure: bool) -> tuple[str, str]:
    """A cookie the console alone sees: HttpOnly, SameSite=Strict, scoped to its path,
    Secure when served over HTTPS, gone after ``max_age`` seconds."""
    flags = f"; Path={PREFIX}; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    return ("Set-Cookie", f"{name}={value}{flags}" + ("; Secure" if secure else ""))


def clear_cookie(name: str, *, secure: bool) -> tuple[str, str]:
    return set_cookie(name, "", max_age=0, secure=secure)


def form(request: Request) -> dict[str, str] | None:
    """The fields of a urlencoded form post (the first value of each), None when the
    body is no such form or too large."""
    if request.content_type != "application/x-www-form-urlencoded":
        return None
    if len(request.body) > MAX_FORM_BYTES:
        return None
    try:
        fields = parse_qs(request.body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in fields.items()}


def same_origin(request: Request, scheme: str) -> bool:
    """Whether a POST comes from the console's own pages (``Sec-Fetch-Site`` and
    ``Origin`` when the browser sends them; the CSRF token is checked besides)."""
    headers = request.header_map
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    return origin == f"{scheme}://{headers.get('host', '')}"


def query_value(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None
