"""Fetch trust data over HTTP(S): CRLs from distribution points, OCSP answers from
responders, SPIFFE bundles from bundle endpoints (or files). Bounded in time and in size.

The only places CreateSession makes an outgoing request. Only ``http``/``https`` URLs are
fetched (others never reach here: ``Certificate.crl_distribution_points`` and
``Certificate.ocsp_urls`` keep HTTP ones only), within ``timeout`` seconds for connecting
and for each read, and a body larger than ``max_bytes`` is refused. The URLs come from
certificates that already chained to a trust anchor, so it is the anchor's CA that
chooses what is fetched.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from roleport import __version__
from roleport.domain.revocation import FetchError
from roleport.offload import network_wait

__all__ = ["HttpCrlFetcher", "HttpOcspFetcher", "SpiffeBundleFetcher"]


class _BoundedFetch:
    what = "CRL"

    def __init__(self, *, timeout: float = 5.0, max_bytes: int = 1024 * 1024) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes

    _context: object = None

    def _fetch(self, request: urllib.request.Request) -> bytes:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout,  # noqa: S310
                                        context=self._context) as response:
                declared = response.headers.get("Content-Length")
                # ASCII digits only ("²" is a digit to str.isdigit, and int() refuses it)
                if declared and declared.isascii() and declared.isdigit() and (
                        len(declared) > 18 or int(declared) > self.max_bytes):
                    raise FetchError(f"the {self.what} is larger than {self.max_bytes} bytes")
                body = response.read(self.max_bytes + 1)
        except FetchError:
            raise
        except urllib.error.HTTPError as exc:
            raise FetchError(f"HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise FetchError(f"unreachable ({exc.reason})") from None
        except TimeoutError:
            raise FetchError(f"no answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise FetchError(f"unreachable ({exc})") from None
        if len(body) > self.max_bytes:
            raise FetchError(f"the {self.what} is larger than {self.max_bytes} bytes")
        return body


def _http_only(url: str) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError("only http and https URLs are fetched")


class HttpCrlFetcher(_BoundedFetch):
    def __call__(self, url: str, /) -> bytes:
        _http_only(url)
        network_wait(f"CRL distribution point {url}")
        return self._fetch(urllib.request.Request(url, headers={
            "User-Agent": f"Roleport/{__version__} (CRL distribution point check)",
            "Accept": "application/pkix-crl, application/x-pkcs7-crl, */*"}))


class HttpOcspFetcher(_BoundedFetch):
    """POSTs an OCSP request (RFC 6960 appendix A.1) and returns the raw answer."""

    what = "OCSP response"

    def __init__(self, *, timeout: float = 5.0, max_bytes: int = 64 * 1024) -> None:
        super().__init__(timeout=timeout, max_bytes=max_bytes)

    def __call__(self, url: str, request: bytes, /) -> bytes:
        _http_only(url)
        network_wait(f"OCSP responder {url}")
        return self._fetch(urllib.request.Request(url, data=request, method="POST", headers={
            "User-Agent": f"Roleport/{__version__} (OCSP check)",
            "Content-Type": "application/ocsp-request",
            "Accept": "application/ocsp-response"}))


class SpiffeBundleFetcher(_BoundedFetch):
    """A SPIFFE bundle from a bundle endpoint (``https_web`` profile: HTTPS, the server
    authenticated with Web PKI roots or ``ca_file``) or from a local file."""

    what = "SPIFFE bundle"

    def __init__(self, *, timeout: float = 5.0, max_bytes: int = 1024 * 1024,
                 ca_file: str | None = None) -> None:
        super().__init__(timeout=timeout, max_bytes=max_bytes)
        import ssl

        self._context = ssl.create_default_context(cafile=ca_file)

    def __call__(self, location: str, /) -> bytes:
        if location.lower().startswith("http://"):
            raise FetchError("a bundle endpoint is served over https (https_web profile)")
        if not location.lower().startswith("https://"):
            return self._read_file(location)
        network_wait(f"SPIFFE bundle endpoint {location}")
        request = urllib.request.Request(location, headers={
            "User-Agent": f"Roleport/{__version__} (SPIFFE bundle)",
            "Accept": "application/json"})
        return self._fetch(request)

    def _read_file(self, path: str) -> bytes:
        try:
            with open(path.removeprefix("file://"), "rb") as handle:
                body = handle.read(self.max_bytes + 1)
        except OSError as exc:
            raise FetchError(f"cannot read the bundle file ({exc.strerror})") from None
        if len(body) > self.max_bytes:
            raise FetchError(f"the {self.what} is larger than {self.max_bytes} bytes")
        return body
