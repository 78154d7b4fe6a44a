"""``roleport serve``: run the server."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from pathlib import Path

import click

from roleport.cli.options import account_option, data_options
from roleport.cli.upstream import upstream_options
from roleport.config import DEFAULT_PORT, DEFAULT_REGION, Settings
from roleport.domain.quotas import Quotas
from roleport.server.connections import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_HEADER_TIMEOUT_SECONDS,
    DEFAULT_KEEP_ALIVE_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionLimits,
)


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


def _banner(settings: Settings, ca_bundle: Path | None, admin, data_dir: Path,  # noqa: ANN001
            *, terminal: bool = False) -> str:
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
@click.option("--max-body-bytes", envvar="ROLEPORT_MAX_BODY_BYTES", default=1024 * 1024,
              show_default=True, type=click.IntRange(1024, 64 * 1024 * 1024),
              help="Largest request body accepted.")
@click.option("--header-timeout", envvar="ROLEPORT_HEADER_TIMEOUT",
              default=DEFAULT_HEADER_TIMEOUT_SECONDS, show_default=True,
              type=click.FloatRange(0.1, 3600),
              help="Seconds a client has to send a request's headers, from connecting or "
                   "from the previous response; then the connection is closed.")
@click.option("--body-timeout", envvar="ROLEPORT_BODY_TIMEOUT",
              default=DEFAULT_BODY_TIMEOUT_SECONDS, show_default=True,
              type=click.FloatRange(0.1, 3600),
              help="Seconds a client has to send a request's body once its headers came; "
                   "then a 408 RequestTimeoutException and the connection is closed.")
@click.option("--keep-alive-timeout", envvar="ROLEPORT_KEEP_ALIVE_TIMEOUT",
              default=DEFAULT_KEEP_ALIVE_SECONDS, show_default=True,
              type=click.FloatRange(0.1, 3600),
              help="Seconds an idle keep-alive connection stays open between requests.")
@click.option("--max-connections", envvar="ROLEPORT_MAX_CONNECTIONS",
              default=DEFAULT_MAX_CONNECTIONS, show_default=True,
              type=click.IntRange(1, 1_000_000),
              help="Open connections per worker; one more is answered 503 and closed.")
@click.option("--auth-failure-rate", envvar="ROLEPORT_AUTH_FAILURE_RATE", default=2.0,
              show_default=True, type=click.FloatRange(0, 10_000),
              help="Failed authentications (wrong secret, unknown key, bad session token) "
                   "allowed per second per source address and per access key, after "
                   "--auth-failure-burst; more are throttled. 0 turns throttling off.")
@click.option("--auth-failure-burst", envvar="ROLEPORT_AUTH_FAILURE_BURST", default=10,
              show_default=True, type=click.IntRange(1, 1_000_000),
              help="Failed authentications allowed in a burst before --auth-failure-rate "
                   "applies.")
@click.option("--quota-trust-anchors", envvar="ROLEPORT_QUOTA_TRUST_ANCHORS", default=50,
              show_default=True, type=click.IntRange(1))
@click.option("--quota-profiles", envvar="ROLEPORT_QUOTA_PROFILES", default=250,
              show_default=True, type=click.IntRange(1))
@click.option("--quota-crls-per-trust-anchor", envvar="ROLEPORT_QUOTA_CRLS_PER_TRUST_ANCHOR",
              default=2, show_default=True, type=click.IntRange(1))
@click.option("--quota-certificates-per-trust-anchor",
              envvar="ROLEPORT_QUOTA_CERTIFICATES_PER_TRUST_ANCHOR", default=2,
              show_default=True, type=click.IntRange(1))
@click.option("--quota-roles-per-profile", envvar="ROLEPORT_QUOTA_ROLES_PER_PROFILE",
              default=250, show_default=True, type=click.IntRange(1, 250))
@click.option("--quota-mapping-rules-per-field",
              envvar="ROLEPORT_QUOTA_MAPPING_RULES_PER_FIELD", default=50, show_default=True,
              type=click.IntRange(1, 1000),
              help="PutAttributeMapping: most rules for one certificate field (not an AWS "
                   "quota: AWS documents none).")
@click.option("--quota-mapping-rules-per-profile",
              envvar="ROLEPORT_QUOTA_MAPPING_RULES_PER_PROFILE", default=100,
              show_default=True, type=click.IntRange(1, 3000),
              help="Most attribute mapping rules of one profile, all fields together.")
@click.option("--log-level", envvar="ROLEPORT_LOG_LEVEL", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--no-access-log", envvar="ROLEPORT_NO_ACCESS_LOG", is_flag=True,
              help="Do not write a JSON access-log line per request.")
@click.option("--workers", envvar="ROLEPORT_WORKERS", default=1, show_default=True,
              type=click.IntRange(1, 64),
              help="Worker processes sharing the port (e.g. one per core).")
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
@upstream_options
def serve(host: str, port: int, data_dir: Path, database_url: str | None, region: str,
          account_id: str, plain_http: bool, tls_cert: Path | None, tls_key: Path | None,
          strict_signing: bool, invalid_tag_values: str, crl_fetch_timeout: float,
          crl_fetch_max_bytes: int, max_body_bytes: int, header_timeout: float,
          body_timeout: float, keep_alive_timeout: float, max_connections: int,
          auth_failure_rate: float, auth_failure_burst: int,
          quota_trust_anchors: int,
          quota_profiles: int, quota_crls_per_trust_anchor: int,
          quota_certificates_per_trust_anchor: int, quota_roles_per_profile: int,
          quota_mapping_rules_per_field: int, quota_mapping_rules_per_profile: int,
          log_level: str, no_access_log: bool, workers: int, threads: int, dispatch: str,
          upstream: dict) -> None:
    """Run the Roleport server (HTTPS by default, with a local CA made on first start).

    Admin credentials: ROLEPORT_ADMIN_ACCESS_KEY_ID / ROLEPORT_ADMIN_SECRET_ACCESS_KEY, or
    a pair generated on first start, saved in the data dir and printed once.
    Keys: ROLEPORT_SERVER_KEY (else DATA_DIR/server-key.json) seals session tokens and,
    unless ROLEPORT_SECRETS_KEY or ROLEPORT_SECRETS_KEY_FILE gives a key of their own, the
    secrets stored in the database.
    """
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from roleport.server import bootstrap, connections
    from roleport.server import workers as workers_mod
    from roleport.server.app import create_app
    from roleport.server.observability import configure_logging
    from roleport.storage.sql import engine
    from roleport.storage.sql.unit_of_work import SqlStore

    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if not re.fullmatch(r"\d{12}", account_id):
        raise click.BadParameter("must be 12 digits", param_hint="--account-id")
    settings = Settings(
        host=host, port=port, data_dir=data_dir, database_url=database_url, region=region,
        account_id=account_id, http=plain_http, tls_cert=tls_cert, tls_key=tls_key,
        admin_access_key_id=os.environ.get("ROLEPORT_ADMIN_ACCESS_KEY_ID") or None,
        admin_secret_access_key=os.environ.get("ROLEPORT_ADMIN_SECRET_ACCESS_KEY") or None,
        **Settings.keys_from_env(os.environ),
        quotas=Quotas(trust_anchors=quota_trust_anchors, profiles=quota_profiles,
                      crls_per_trust_anchor=quota_crls_per_trust_anchor,
                      certificates_per_trust_anchor=quota_certificates_per_trust_anchor,
                      roles_per_profile=quota_roles_per_profile,
                      mapping_rules_per_field=quota_mapping_rules_per_field,
                      mapping_rules_per_profile=quota_mapping_rules_per_profile),
        strict_signing=strict_signing, invalid_tag_values=invalid_tag_values,
        crl_fetch_timeout_seconds=crl_fetch_timeout, crl_fetch_max_bytes=crl_fetch_max_bytes,
        max_body_bytes=max_body_bytes,
        connection_limits=ConnectionLimits(
            header_timeout_seconds=header_timeout, body_timeout_seconds=body_timeout,
            keep_alive_seconds=keep_alive_timeout, max_connections=max_connections),
        auth_failure_rate=auth_failure_rate, auth_failure_burst=auth_failure_burst,
        log_level=log_level, workers=workers, threads=threads,
        dispatch=dispatch, access_log=not no_access_log, **upstream)
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
    if workers > 1:
        store.dispose()  # each worker opens its own pool after the fork
        _preload_for_workers()

    limits = settings.connection_limits
    connections.raise_descriptor_limit(limits)
    protocol = connections.guarded_protocol(AutoHTTPProtocol, limits)

    def make_server():  # noqa: ANN202 - runs in each worker (or here, with one)
        worker_store = store if workers == 1 else SqlStore(
            engine.create(settings.resolved_database_url), store.sealer)
        app = create_app(settings, store=worker_store, server_key=keyring.current_secret,
                         keyring=keyring)
        return workers_mod.make_uvicorn_server(uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", server_header=False,
            ssl_certfile=str(tls.certificate) if tls else None,
            ssl_keyfile=str(tls.key) if tls else None, timeout_graceful_shutdown=5,
            http=protocol, timeout_keep_alive=limits.keep_alive_seconds,
            h11_max_incomplete_event_size=64 * 1024))

    ca_bundle = tls.ca_bundle if tls else None
    bootstrap.write_private(Path(data_dir) / "server.json", json.dumps({
        "endpoint": settings.endpoint_url, "region": settings.region,
        "accountId": settings.account_id, "caBundle": str(ca_bundle) if ca_bundle else None,
        "pid": os.getpid()}, indent=2) + "\n")
    click.echo(_banner(settings, ca_bundle, admin, data_dir, terminal=sys.stdout.isatty()),
               nl=True)
    if settings.upstream_endpoint:
        click.echo(f"  upstream {settings.upstream_endpoint}: roles from its IAM, credentials "
                   f"from its STS AssumeRole\n")
    status = workers_mod.run(make_server, sock, workers)
    click.echo("Roleport stopped.")
    if status:
        raise SystemExit(status)


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
