"""Fetch a CRL from an HTTP(S) distribution point: bounded in time and in size.

The one place CreateSession makes an outgoing request. Only ``http``/``https`` URLs are
fetched (others never reach here: ``Certificate.crl_distribution_points`` keeps HTTP
ones only), within ``timeout`` seconds for connecting and for each read, and a body
larger than ``max_bytes`` is refused. The URLs come from certificates that already
chained to a trust anchor, so it is the anchor's CA that chooses what is fetched.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from roleport import __version__
from roleport.domain.revocation import CrlFetchError
from roleport.offload import network_wait

__all__ = ["HttpCrlFetcher"]


class HttpCrlFetcher:
    def __init__(self, *, timeout: float = 5.0, max_bytes: int = 1024 * 1024) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes

    def __call__(self, url: str, /) -> bytes:
        if not url.lower().startswith(("http://", "https://")):
            raise CrlFetchError("only http and https distribution points are fetched")
        network_wait(f"CRL distribution point {url}")
        request = urllib.request.Request(url, headers={
            "User-Agent": f"Roleport/{__version__} (CRL distribution point check)",
            "Accept": "application/pkix-crl, application/x-pkcs7-crl, */*"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                declared = response.headers.get("Content-Length")
                # ASCII digits only ("²" is a digit to str.isdigit, and int() refuses it)
                if declared and declared.isascii() and declared.isdigit() and (
                        len(declared) > 18 or int(declared) > self.max_bytes):
                    raise CrlFetchError(f"the CRL is larger than {self.max_bytes} bytes")
                body = response.read(self.max_bytes + 1)
        except CrlFetchError:
            raise
        except urllib.error.HTTPError as exc:
            raise CrlFetchError(f"HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise CrlFetchError(f"unreachable ({exc.reason})") from None
        except TimeoutError:
            raise CrlFetchError(f"no answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise CrlFetchError(f"unreachable ({exc})") from None
        if len(body) > self.max_bytes:
            raise CrlFetchError(f"the CRL is larger than {self.max_bytes} bytes")
        return body
