"""The HTTP request as the pipeline sees it (built from the ASGI scope)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import parse_qs, unquote

from roleport.auth.verifier import SigningRequest


@dataclass
class Request:
    method: str
    #: the path as received, still percent-encoded
    raw_path: str
    raw_query: str
    #: (lower-case name, value) in arrival order
    headers: list[tuple[str, str]]
    body: bytes = b""
    client: str = ""
    request_id: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @cached_property
    def header_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.headers:
            out[name] = f"{out[name]},{value}" if name in out else value
        return out

    @cached_property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query, keep_blank_values=True)

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def content_type(self) -> str:
        return self.header_map.get("content-type", "").split(";")[0].strip().lower()

    def signing_request(self) -> SigningRequest:
        """The request as the signature verifiers see it (built once: read the body first)."""
        return self._signing

    @cached_property
    def _signing(self) -> SigningRequest:
        return SigningRequest(self.method, self.raw_path, self.raw_query, self.headers, self.body)
