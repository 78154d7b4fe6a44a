"""Settings: from CLI flags and ``ROLEPORT_*`` environment variables. No import-time I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roleport.domain.quotas import Quotas
from roleport.ops.config import NotificationConfig
from roleport.server.connections import ConnectionLimits
from roleport.server.request_limits import RequestRates

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_PORT = 8443
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = Path(".roleport")
    database_url: str | None = None
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    http: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    admin_access_key_id: str | None = None
    admin_secret_access_key: str | None = None
    server_key: str | None = None
    #: a separate key-encryption key for the secrets at rest (same format as server_key),
    #: given as such or as a file holding it; without either, the server keys seal them
    secrets_key: str | None = None
    secrets_key_file: Path | None = None
    quotas: Quotas = field(default_factory=Quotas)
    #: SQLite ``PRAGMA synchronous`` of the writes a client is told are done: ``full``
    #: (on disk before the answer: survives a power loss) or ``normal`` (survives a crash
    #: of the process, not of the machine); see docs/security.md, "Durability"
    sqlite_synchronous: str = "full"
    strict_signing: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: header/body deadlines, keep-alive and the connection cap of each worker
    connection_limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    #: failed authentications per second (and burst) per source address and per access
    #: key before requests are throttled (see roleport.server.auth_throttle); 0 turns off
    auth_failure_rate: float = 2.0
    auth_failure_burst: int = 10
    #: request rate limits (CreateSession per certificate and source, control plane per
    #: access key), shared by the workers; see roleport.server.request_limits
    request_rates: RequestRates = field(default_factory=RequestRates)
    #: requests a worker holds at once (running or waiting to run); beyond, a quick 503
    max_pending_requests: int = 256
    #: on SIGTERM, how long the requests being served have to finish
    drain_timeout_seconds: float = 5.0
    max_clock_skew_seconds: int = 300
    #: CreateSession: certificate attributes that are not valid session tags make the
    #: request ``fail`` (what AWS observably does) or are ``drop``ped (what its docs say)
    invalid_tag_values: str = "fail"
    #: CreateSession: CRL distribution point fetches (trust anchors with crlDpRevocationEnabled)
    crl_fetch_timeout_seconds: float = 5.0
    crl_fetch_max_bytes: int = 1024 * 1024
    #: CreateSession: OCSP requests (trust anchors tagged ``roleport:ocsp``)
    ocsp_timeout_seconds: float = 5.0
    #: SPIFFE: ``trust-domain=https-url-or-file`` bundles that anchors tagged
    #: ``roleport:spiffeTrustDomain`` follow (see roleport.domain.spiffe)
    spiffe_bundles: tuple[str, ...] = ()
    spiffe_bundle_ca: Path | None = None
    spiffe_max_staleness_seconds: float = 3600.0
    spiffe_default_refresh_seconds: float = 300.0
    #: AWS_ACM_PCA trust anchors: where the Private CA is read (None: AWS's regional
    #: endpoint), with which AWS profile (None: the usual AWS credential chain)
    acm_pca_endpoint: str | None = None
    acm_pca_profile: str | None = None
    acm_pca_timeout_seconds: float = 5.0
    #: upstream mode: roles from this IAM, credentials from this STS (``aws`` = AWS's own
    #: endpoints); credentials for it from the usual AWS environment variables or profile
    upstream_endpoint: str | None = None
    upstream_iam_endpoint: str | None = None
    upstream_region: str = DEFAULT_REGION
    upstream_profile: str | None = None
    upstream_role_cache_seconds: float = 30.0
    upstream_timeout_seconds: float = 5.0
    workers: int = 1
    #: request threads per worker
    threads: int = 4
    #: where requests run: ``loop`` (the worker's event loop, one request per turn, no
    #: thread hand-off; see roleport.offload), ``threads`` (its pool), or ``auto``: the
    #: loop with the embedded SQLite database and no upstream, else the pool. A request
    #: that must wait on the network runs on the pool either way.
    dispatch: str = "auto"
    log_level: str = "info"
    access_log: bool = True
    #: the web console at /_roleport/console (see roleport.console), and how long one of
    #: its sign-ins lasts
    console: bool = True
    console_session_seconds: int = 8 * 3600
    #: the audit trail (CloudTrail-shaped records): a file path, ``-`` for stdout, or off
    audit_log: str | None = None
    #: refuse requests (503) whose audit record cannot be written, rather than drop it
    audit_fail_closed: bool = False
    #: lines each log (access, audit) buffers in memory before its writer catches up
    log_buffer_lines: int = 10_000
    #: expiry notifications: sinks and interval (the scheduler runs only with a sink)
    notifications: NotificationConfig = field(default_factory=NotificationConfig)
    #: also serve /metrics on this port (plain HTTP, same host); None: only the main port
    metrics_port: int | None = None
    #: end-entity days-to-expiry series kept (the soonest-expiring certificates)
    metrics_end_entity_limit: int = 100

    @staticmethod
    def keys_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
        """The key settings every command that opens the database reads from the
        environment (``ROLEPORT_SERVER_KEY``, ``ROLEPORT_SECRETS_KEY[_FILE]``)."""
        key_file = environ.get("ROLEPORT_SECRETS_KEY_FILE") or None
        return {"server_key": environ.get("ROLEPORT_SERVER_KEY") or None,
                "secrets_key": environ.get("ROLEPORT_SECRETS_KEY") or None,
                "secrets_key_file": Path(key_file) if key_file else None}

    @property
    def scheme(self) -> str:
        return "http" if self.http else "https"

    @property
    def endpoint_url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "[::1]"
        elif ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def requests_on_loop(self) -> bool:
        """Whether requests run on the event loop (see :mod:`roleport.offload`)."""
        if self.dispatch != "auto":
            return self.dispatch == "loop"
        embedded = self.resolved_database_url.startswith("sqlite")
        return embedded and not self.upstream_endpoint

    @property
    def resolved_database_url(self) -> str:
        from roleport.storage.sql.engine import default_sqlite_url

        return self.database_url or default_sqlite_url(self.data_dir)
