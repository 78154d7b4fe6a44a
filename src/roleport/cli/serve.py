"""``roleport serve``: run the server."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from pathlib import Path

import click

from roleport.cli.notifications import notification_options
from roleport.cli.options import account_option, data_options
from roleport.cli.serve_limits import limit_options
from roleport.cli.upstream import upstream_options
from roleport.config import DEFAULT_PORT, DEFAULT_REGION, Settings
from roleport.ops.config import NotificationConfig


def _bind(host: str, port: int, *, workers: int = 1) -> socket.socket:
    """The server's address, bound here so a busy port fails at once. With several
    workers it is only reserved (SO_REUSEPORT, not listening): each worker listens on its
    own socket at the same address (server/workers.py)."""
    from roleport.server.workers import reuse_port_supported

    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    def bound(at_port: int, *, reuse_port: bool) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, at_port))
        except OSError as exc:
            sock.close()
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror}") from None
        return sock

    if not (workers > 1 and reuse_port_supported()):
        sock = bound(port, reuse_port=False)
        sock.listen(2048)
    else:
        # SO_REUSEPORT would let this server share a port another one (of the same user)
        # already serves: a plain bind first proves the port is free, then the reserving
        # socket takes it over.
        probe = bound(port, reuse_port=False)
        port = probe.getsockname()[1]
        probe.close()
        sock = bound(port, reuse_port=True)
    sock.set_inheritable(True)
    return sock


class WorkerCount(click.ParamType):
    """``--workers``: ``auto`` or a number from 1 to 64."""

    name = "auto|N"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 - click's signature
        if isinstance(value, int) or value == "auto":
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return "auto"
        if text.isdigit() and 1 <= int(text) <= 64:
            return int(text)
        self.fail(f"{value!r} is not auto or a number from 1 to 64", param, ctx)


def _banner(settings: Settings, ca_bundle: Path | None, admin, data_dir: Path,  # noqa: ANN001
            workers_auto: bool = False, *, terminal: bool = False) -> str:
    """What the server prints at start. The new admin secret only to a terminal: output
    that is not one (systemd, docker, a CI log) is a log, and no secret goes to a log."""
    url = settings.endpoint_url
    db = settings.database_url or str(Path(data_dir).resolve() / "roleport.db")
    db = re.sub(r"://([^:@/]+):[^@/]+@", r"://\1:***@", db)
    lines = [
        f"Roleport is serving on {url}",
        f"  region   {settings.region} (any region in a request's signature is served)",
        f"  account  {settings.account_id}",
        f"  data     {Path(data_dir).resolve()} (database: {db})",
        f"  workers  {settings.workers}"
        + (" (auto: one per available core; --workers N to choose)" if workers_auto else ""),
    ]
    env = []
    if ca_bundle is not None:
        lines.append(f"  CA       {ca_bundle}  (export AWS_CA_BUNDLE={ca_bundle})")
        env.append(f"AWS_CA_BUNDLE={ca_bundle}")
    saved = Path(data_dir).resolve() / "admin-credentials.json"
    if admin.created and terminal:
        lines += ["", "  New admin credentials (shown once; also saved 0600 in the data dir):",
                  f"    AWS_ACCESS_KEY_ID={admin.access_key_id}",
                  f"    AWS_SECRET_ACCESS_KEY={admin.secret_access_key}"]
    elif admin.created:
        lines += ["", f"  New admin credentials: access key {admin.access_key_id}, secret "
                  f"saved 0600 in {saved} (not printed: the output is not a terminal)"]
    elif admin.source == "environment":
        lines.append(f"  admin    access key {admin.access_key_id} (secret from "
                     f"ROLEPORT_ADMIN_SECRET_ACCESS_KEY)")
    else:
        lines.append(f"  admin    access key {admin.access_key_id} (secret in {saved})")
    env_text = " ".join(env + ["AWS_DEFAULT_REGION=" + settings.region])
    if settings.console:
        lines.append(f"  console  {url}/_roleport/console (sign in with the admin keys)")
    lines += ["", "  Try:", f"    {env_text} aws rolesanywhere list-trust-anchors "
              f"--endpoint-url {url}", ""]
    return "\n".join(lines)


@click.command()
@click.option("--host", envvar="ROLEPORT_HOST", default="127.0.0.1", show_default=True,
              help="Address to listen on (IPv6 works too, e.g. ::1).")
@click.option("--port", envvar="ROLEPORT_PORT", default=DEFAULT_PORT, show_default=True,
              type=int, help="Port to listen on; 0 picks a free one.")
@data_options
@click.option("--region", envvar="ROLEPORT_REGION", default=DEFAULT_REGION, show_default=True,
              help="The default region shown in examples.")
@account_option
@click.option("--http", "plain_http", envvar="ROLEPORT_HTTP", is_flag=True,
              help="Serve plain HTTP instead of HTTPS (for local tests only).")
@click.option("--tls-cert", envvar="ROLEPORT_TLS_CERT", type=click.Path(exists=True,
              dir_okay=False, path_type=Path), help="Serve HTTPS with this certificate (PEM).")
@click.option("--tls-key", envvar="ROLEPORT_TLS_KEY", type=click.Path(exists=True,
              dir_okay=False, path_type=Path), help="The private key of --tls-cert (PEM).")
@click.option("--strict-signing", envvar="ROLEPORT_STRICT_SIGNING", is_flag=True,
              help="Refuse the CreateSession leniencies real clients need (RSA-PSS, "
                   "mislabelled algorithms, unordered chains).")
@click.option("--invalid-tag-values", envvar="ROLEPORT_INVALID_TAG_VALUES",
              type=click.Choice(["fail", "drop"]), default="fail", show_default=True,
              help="CreateSession: a certificate attribute that is not a valid session tag "
                   "value fails the request (as AWS does) or is dropped (as AWS documents).")
@click.option("--crl-fetch-timeout", envvar="ROLEPORT_CRL_FETCH_TIMEOUT", default=5.0,
              show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds to wait for a CRL distribution point (crlDpRevocationEnabled).")
@click.option("--crl-fetch-max-bytes", envvar="ROLEPORT_CRL_FETCH_MAX_BYTES",
              default=1024 * 1024, show_default=True,
              type=click.IntRange(1024, 64 * 1024 * 1024),
              help="Largest CRL accepted from a distribution point.")
@click.option("--ocsp-timeout", envvar="ROLEPORT_OCSP_TIMEOUT", default=5.0,
              show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds to wait for an OCSP responder (trust anchors tagged "
                   "roleport:ocsp=enabled|soft-fail; docs/trust-sources.md).")
@click.option("--acm-pca-endpoint", envvar="ROLEPORT_ACM_PCA_ENDPOINT", default=None,
              metavar="URL",
              help="AWS_ACM_PCA trust anchors: the ACM Private CA endpoint their CA "
                   "certificate is read from (default: AWS's endpoint of the CA's region). "
                   "Credentials: the usual AWS_* variables or --acm-pca-profile.")
@click.option("--acm-pca-profile", envvar="ROLEPORT_ACM_PCA_PROFILE", default=None,
              help="AWS profile whose credentials read ACM Private CAs (needs "
                   "acm-pca:DescribeCertificateAuthority and "
                   "acm-pca:GetCertificateAuthorityCertificate).")
@click.option("--acm-pca-timeout", envvar="ROLEPORT_ACM_PCA_TIMEOUT", default=5.0,
              show_default=True, type=click.FloatRange(0.1, 120),
              help="Seconds to wait for the ACM Private CA endpoint to connect, and again "
                   "to answer.")
@click.option("--spiffe-bundle", "spiffe_bundles", envvar="ROLEPORT_SPIFFE_BUNDLE",
              multiple=True, metavar="TRUST_DOMAIN=URL|FILE",
              help="A SPIFFE trust bundle (https_web bundle endpoint URL, or a local JWKS "
                   "file) that trust anchors tagged roleport:spiffeTrustDomain=TRUST_DOMAIN "
                   "follow; repeat for several trust domains (env: space-separated).")
@click.option("--spiffe-bundle-ca", envvar="ROLEPORT_SPIFFE_BUNDLE_CA",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CA certificates (PEM) that authenticate bundle endpoints (default: the "
                   "system's Web PKI roots).")
@click.option("--spiffe-max-staleness", envvar="ROLEPORT_SPIFFE_MAX_STALENESS",
              default=3600.0, show_default=True, type=click.FloatRange(1, 30 * 86400),
              help="Seconds a SPIFFE bundle may go without a successful refresh before "
                   "CreateSession refuses its SVIDs (fail closed).")
@click.option("--spiffe-default-refresh", envvar="ROLEPORT_SPIFFE_DEFAULT_REFRESH",
              default=300.0, show_default=True, type=click.FloatRange(1, 86400),
              help="Seconds between bundle refreshes when the bundle has no "
                   "spiffe_refresh_hint.")
@limit_options
@click.option("--sqlite-synchronous", envvar="ROLEPORT_SQLITE_SYNCHRONOUS",
              type=click.Choice(["full", "normal"]), default="full", show_default=True,
              help="SQLite only: 'full' writes each acknowledged change to disk before "
                   "answering (it survives a power loss; a few ms per write); 'normal' "
                   "survives a crash of the server, but a power loss or kernel crash may "
                   "undo the last acknowledged writes (never corrupts the database).")
@click.option("--log-level", envvar="ROLEPORT_LOG_LEVEL", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--no-access-log", envvar="ROLEPORT_NO_ACCESS_LOG", is_flag=True,
              help="Do not write a JSON access-log line per request.")
@click.option("--audit-log", envvar="ROLEPORT_AUDIT_LOG", metavar="PATH|-",
              help="Write the audit trail (one CloudTrail-shaped JSON record per API call "
                   "and CreateSession attempt, secrets removed) to PATH (appended, created "
                   "0600, reopened on SIGHUP for rotation) or, with -, to stdout.")
@click.option("--audit-fail-closed", envvar="ROLEPORT_AUDIT_FAIL_CLOSED", is_flag=True,
              help="Refuse requests (503 ServiceUnavailable) while their audit record "
                   "cannot be written, and send no response (no credentials) before its "
                   "record is written. Needs --audit-log.")
@click.option("--log-buffer-lines", envvar="ROLEPORT_LOG_BUFFER_LINES", default=10_000,
              show_default=True, type=click.IntRange(100, 10_000_000),
              help="Lines the access log and the audit trail each hold in memory for their "
                   "background writer; beyond that the access log drops lines (counted in "
                   "roleport_log_dropped_total) and a fail-closed audit trail refuses "
                   "requests.")
@click.option("--workers", envvar="ROLEPORT_WORKERS", default="auto", show_default=True,
              type=WorkerCount(),
              help="Worker processes sharing the port: a number (1-64), or auto for one "
                   "per core this process may use (CPU affinity and cgroup quota).")
@click.option("--threads", envvar="ROLEPORT_THREADS", default=4, show_default=True,
              type=click.IntRange(1, 256),
              help="Request threads per worker (requests are CPU-bound: a few suffice; more "
                   "help when an upstream STS or CRL distribution point is slow).")
@click.option("--dispatch", envvar="ROLEPORT_DISPATCH", default="auto", show_default=True,
              type=click.Choice(["auto", "loop", "threads"]),
              help="Where requests run: on each worker's event loop, one per turn of the "
                   "loop (no thread hand-off: less CPU per request), on its --threads pool "
                   "(a request waiting on the database holds only its thread), or auto: the "
                   "loop with the embedded SQLite database and no upstream, else the pool. A "
                   "request that must wait on the network (CRL distribution point, upstream "
                   "STS) always runs on the pool.")
@click.option("--no-console", envvar="ROLEPORT_NO_CONSOLE", is_flag=True,
              help="Do not serve the web console at /_roleport/console.")
@click.option("--console-session-hours", envvar="ROLEPORT_CONSOLE_SESSION_HOURS",
              default=8.0, show_default=True, type=click.FloatRange(0.05, 24 * 7),
              help="How long a web console sign-in lasts before it asks again.")
@click.option("--metrics-port", envvar="ROLEPORT_METRICS_PORT", default=None,
              type=click.IntRange(1, 65535),
              help="Also serve the Prometheus metrics (all workers summed) on this port, "
                   "plain HTTP on --host, at any path. Without it they are at "
                   "/_roleport/metrics on the main port only.")
@click.option("--metrics-end-entity-limit", envvar="ROLEPORT_METRICS_END_ENTITY_LIMIT",
              default=100, show_default=True, type=click.IntRange(0, 100_000),
              help="End-entity certificates with a days-to-expiry series: the ones seen "
                   "in the last day that expire the soonest.")
@notification_options
@upstream_options
def serve(host: str, port: int, data_dir: Path, database_url: str | None, region: str,
          account_id: str, plain_http: bool, tls_cert: Path | None, tls_key: Path | None,
          strict_signing: bool, invalid_tag_values: str, crl_fetch_timeout: float,
          crl_fetch_max_bytes: int, ocsp_timeout: float, acm_pca_endpoint: str | None,
          acm_pca_profile: str | None, acm_pca_timeout: float,
          spiffe_bundles: tuple[str, ...], spiffe_bundle_ca: Path | None,
          spiffe_max_staleness: float, spiffe_default_refresh: float, limits: dict,
          sqlite_synchronous: str, log_level: str, no_access_log: bool,
          audit_log: str | None, audit_fail_closed: bool, log_buffer_lines: int,
          workers: int, threads: int, dispatch: str, no_console: bool,
          console_session_hours: float, metrics_port: int | None,
          metrics_end_entity_limit: int, notifications: NotificationConfig,
          upstream: dict) -> None:
    """Run the Roleport server (HTTPS by default, with a local CA made on first start).

    Admin credentials: ROLEPORT_ADMIN_ACCESS_KEY_ID / ROLEPORT_ADMIN_SECRET_ACCESS_KEY, or
    a pair generated on first start, saved in the data dir and printed once.
    Keys: ROLEPORT_SERVER_KEY (else DATA_DIR/server-key.json) seals session tokens and,
    unless ROLEPORT_SECRETS_KEY or ROLEPORT_SECRETS_KEY_FILE gives a key of their own, the
    secrets stored in the database.

    Certificate expiry notifications run when a --notify-* sink is given
    (docs/operations.md#expiry-notifications).
    """
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from roleport.server import bootstrap, connections
    from roleport.server import metrics_runtime as metrics_mod
    from roleport.server import workers as workers_mod
    from roleport.server.app import create_app
    from roleport.server.observability import configure_logging
    from roleport.server.shared_buckets import SharedBuckets
    from roleport.storage.sql import engine
    from roleport.storage.sql.unit_of_work import SqlStore

    workers_auto = workers == "auto"
    workers = workers_mod.resolve_workers(workers)
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if not re.fullmatch(r"\d{12}", account_id):
        raise click.BadParameter("must be 12 digits", param_hint="--account-id")
    _check_audit_log(audit_log, audit_fail_closed)
    if audit_log and audit_log != "-":
        audit_log = str(Path(audit_log).absolute())  # reopened by path on SIGHUP
    settings = Settings(
        host=host, port=port, data_dir=data_dir, database_url=database_url, region=region,
        account_id=account_id, http=plain_http, tls_cert=tls_cert, tls_key=tls_key,
        admin_access_key_id=os.environ.get("ROLEPORT_ADMIN_ACCESS_KEY_ID") or None,
        admin_secret_access_key=os.environ.get("ROLEPORT_ADMIN_SECRET_ACCESS_KEY") or None,
        **Settings.keys_from_env(os.environ),
        sqlite_synchronous=sqlite_synchronous, strict_signing=strict_signing,
        invalid_tag_values=invalid_tag_values,
        crl_fetch_timeout_seconds=crl_fetch_timeout, crl_fetch_max_bytes=crl_fetch_max_bytes,
        ocsp_timeout_seconds=ocsp_timeout, acm_pca_endpoint=acm_pca_endpoint or None,
        acm_pca_profile=acm_pca_profile or None, acm_pca_timeout_seconds=acm_pca_timeout,
        spiffe_bundles=_spiffe_bundles(spiffe_bundles), spiffe_bundle_ca=spiffe_bundle_ca,
        spiffe_max_staleness_seconds=spiffe_max_staleness,
        spiffe_default_refresh_seconds=spiffe_default_refresh,
        **limits,
        log_level=log_level, workers=workers, threads=threads,
        dispatch=dispatch, access_log=not no_access_log, audit_log=audit_log,
        audit_fail_closed=audit_fail_closed, log_buffer_lines=log_buffer_lines,
        console=not no_console,
        console_session_seconds=round(console_session_hours * 3600),
        notifications=notifications, metrics_port=metrics_port,
        metrics_end_entity_limit=metrics_end_entity_limit, **upstream)
    configure_logging(log_level)
    bootstrap.ensure_data_dir(settings)
    keyring = bootstrap.ensure_keyring(settings)
    try:
        store = bootstrap.open_store(settings, server_keys=keyring)
    except Exception as exc:  # noqa: BLE001 - any driver error: say it plainly and stop
        raise click.ClickException(f"cannot open the database: {exc}") from None
    bootstrap.reseal_secrets(store)
    admin = bootstrap.ensure_admin_key(settings, store)
    tls = bootstrap.ensure_tls(settings)
    sock = _bind(host, port, workers=workers)
    settings = _with_port(settings, sock.getsockname()[1])
    metrics_listener = None if metrics_port is None else metrics_mod.MetricsListener(
        host, metrics_port)
    metrics_dir = None
    if workers > 1:
        store.dispose()  # each worker opens its own pool after the fork
        _preload_for_workers()
        metrics_dir = metrics_mod.private_multiprocess_dir()

    limits = settings.connection_limits
    connections.raise_descriptor_limit(limits)
    rate_table = SharedBuckets()  # before the fork: every worker counts in the same table
    protocol = connections.guarded_protocol(AutoHTTPProtocol, limits)

    def make_server():  # noqa: ANN202 - runs in each worker (or here, with one)
        worker_store = store if workers == 1 else SqlStore(
            engine.create(settings.resolved_database_url,
                          sqlite_synchronous=settings.sqlite_synchronous), store.sealer)
        app = create_app(settings, store=worker_store, server_key=keyring.current_secret,
                         keyring=keyring, rate_table=rate_table)
        if workers == 1 and metrics_listener is not None:
            metrics_listener.start(app.metrics.exposition)
        return workers_mod.make_uvicorn_server(uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", server_header=False,
            ssl_certfile=str(tls.certificate) if tls else None,
            ssl_keyfile=str(tls.key) if tls else None,
            timeout_graceful_shutdown=settings.drain_timeout_seconds,
            http=protocol, timeout_keep_alive=limits.keep_alive_seconds,
            h11_max_incomplete_event_size=64 * 1024))

    ca_bundle = tls.ca_bundle if tls else None
    bootstrap.write_private(Path(data_dir) / "server.json", json.dumps({
        "endpoint": settings.endpoint_url, "region": settings.region,
        "accountId": settings.account_id, "caBundle": str(ca_bundle) if ca_bundle else None,
        "pid": os.getpid()}, indent=2) + "\n")
    click.echo(_banner(settings, ca_bundle, admin, data_dir, workers_auto,
                       terminal=sys.stdout.isatty()), nl=True)
    if settings.upstream_endpoint:
        click.echo(f"  upstream {settings.upstream_endpoint}: roles from its IAM, credentials "
                   f"from its STS AssumeRole\n")
    if notifications.has_sinks:
        click.echo(f"  expiry notifications every {notifications.interval_seconds:g} s to "
                   f"{', '.join(notifications.sink_names())}\n")
    if metrics_port is not None:
        click.echo(f"  metrics  http://{host}:{metrics_port}/metrics\n")
    if workers > 1 and metrics_listener is not None:
        metrics_listener.start(metrics_mod.supervisor_exposition(settings))
    try:
        status = workers_mod.run(make_server, sock, workers,
                                 on_worker_exit=metrics_mod.worker_exited)
    finally:
        if metrics_dir is not None:
            metrics_mod.remove_multiprocess_dir(metrics_dir)
    click.echo("Roleport stopped.")
    if status:
        raise SystemExit(status)


def _check_audit_log(audit_log: str | None, fail_closed: bool) -> None:
    """A destination that cannot be opened stops the start, not the first request."""
    from roleport.ops.logwriter import open_append

    if fail_closed and not audit_log:
        raise click.UsageError("--audit-fail-closed needs --audit-log PATH|-")
    if audit_log and audit_log != "-":
        try:
            os.close(open_append(audit_log))
        except OSError as exc:
            raise click.BadParameter(f"cannot open {audit_log} for appending: "
                                     f"{exc.strerror or exc}", param_hint="--audit-log") \
                from None
def _spiffe_bundles(entries: tuple[str, ...]) -> tuple[str, ...]:
    """``TRUST_DOMAIN=LOCATION`` entries, checked (a trust domain once)."""
    from roleport.crypto.errors import CryptoError
    from roleport.crypto.spiffe import parse_spiffe_id

    seen = set()
    for entry in entries:
        domain, sep, location = entry.partition("=")
        try:
            parse_spiffe_id(f"spiffe://{domain}")
        except CryptoError as exc:
            raise click.BadParameter(f"{entry!r}: {exc.message}",
                                     param_hint="--spiffe-bundle") from None
        if not sep or not location:
            raise click.BadParameter(f"{entry!r}: expected TRUST_DOMAIN=URL or "
                                     f"TRUST_DOMAIN=FILE", param_hint="--spiffe-bundle")
        if domain in seen:
            raise click.BadParameter(f"trust domain {domain} given twice",
                                     param_hint="--spiffe-bundle")
        seen.add(domain)
    return tuple(entries)


def _preload_for_workers() -> None:
    """Load the service models before forking and freeze the heap, so the workers share
    those pages instead of each holding a copy (a pre-fork server's usual trick)."""
    import gc

    from roleport.spec.models import SERVICES_BY_SIGNING_NAME, load_service

    for names in SERVICES_BY_SIGNING_NAME.values():
        for name in names:
            load_service(name).model.operation_names  # noqa: B018 - loads the shapes
    gc.collect()
    gc.freeze()


def _with_port(settings: Settings, port: int) -> Settings:
    from dataclasses import replace

    return replace(settings, port=port)
