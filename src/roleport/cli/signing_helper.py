"""``roleport-signing-helper``: a drop-in for the official ``aws_signing_helper``.

Same commands, flags and defaults (clients.md §1.2), so a ``credential_process`` line or
a systemd unit written for the Go binary works after changing the program name. Each
command is short: the work is in :mod:`roleport.client`. Exit codes are those of
:mod:`roleport.client.errors` (documented in docs/client.md).
"""

from __future__ import annotations

import functools
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from roleport import __version__
from roleport.client.errors import ClientError, ConfigurationError

PROG = "roleport-signing-helper"
F = Callable[..., Any]


# -- plumbing -------------------------------------------------------------------------------


def _err(line: str) -> None:
    click.echo(line, err=True)


def tty_prompt(prompt: str) -> str | None:
    """Ask on the controlling terminal without echo; None when there is none.

    Never reads standard input: under ``credential_process`` it belongs to the SDK.
    """
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    try:
        import termios

        old = termios.tcgetattr(fd)
        new = list(old)
        new[3] &= ~termios.ECHO
        os.write(fd, prompt.encode())
        termios.tcsetattr(fd, termios.TCSAFLUSH, new)
        try:
            chunks = []
            while True:
                chunk = os.read(fd, 1024)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\n" in chunk:
                    break
        finally:
            termios.tcsetattr(fd, termios.TCSAFLUSH, old)
            os.write(fd, b"\n")
        return b"".join(chunks).split(b"\n", 1)[0].rstrip(b"\r").decode()
    except (OSError, ImportError):
        return None
    finally:
        os.close(fd)


def handle_errors(fn: F) -> F:
    """Print a ClientError as one line on stderr and exit with its code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            _err(f"{PROG}: {exc.message}")
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper


def _unsupported(name: str, value: Any, why: str) -> None:
    if value:
        raise ConfigurationError(f"{name} is not supported: {why}")


def signer_options(fn: F) -> F:
    """Where the key and certificate are (shared by every command that signs)."""
    options = [
        click.option("--certificate", metavar="PATH|URI",
                     help="Client certificate: PEM (a fullchain file works), DER, a PKCS#12 "
                          "bundle, or a pkcs11: URI."),
        click.option("--private-key", metavar="PATH|URI",
                     help="Private key: PEM/DER (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8) or a "
                          "pkcs11: URI. Not needed with PKCS#12."),
        click.option("--intermediates", metavar="PATH",
                     help="PEM bundle of intermediate CAs (sent in X-Amz-X509-Chain, leaf and "
                          "root removed, in issuer order)."),
        click.option("--pkcs8-password", envvar="ROLEPORT_PKCS8_PASSWORD", metavar="TEXT",
                     help="Passphrase of an encrypted PKCS#8 key [env ROLEPORT_PKCS8_PASSWORD]; "
                          "else asked on the terminal."),
        click.option("--pkcs12-password", envvar="ROLEPORT_PKCS12_PASSWORD", metavar="TEXT",
                     help="Password of the PKCS#12 bundle [env ROLEPORT_PKCS12_PASSWORD]."),
        click.option("--pkcs11-pin", envvar="ROLEPORT_PKCS11_PIN", metavar="PIN",
                     help="User PIN of the PKCS#11 token [env ROLEPORT_PKCS11_PIN]; else "
                          "pin-value= in the URI, else asked on the terminal."),
        click.option("--pkcs11-lib", envvar="ROLEPORT_PKCS11_LIB", metavar="PATH",
                     help="PKCS#11 module (default: module-path= in the URI, else "
                          "p11-kit-proxy.so)."),
        click.option("--reuse-pin", is_flag=True,
                     help="Send the user PIN again for keys that need it per signature "
                          "(CKA_ALWAYS_AUTHENTICATE)."),
        click.option("--cert-selector", hidden=True),
        click.option("--system-store-name", hidden=True),
        click.option("--use-latest-expiring-certificate", is_flag=True, hidden=True),
        click.option("--tpm-key-password", hidden=True),
        click.option("--no-tpm-key-password", is_flag=True, hidden=True),
        click.option("--debug", is_flag=True,
                     help="Print the canonical request, string to sign and responses to "
                          "stderr (secrets redacted)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def credential_options(fn: F) -> F:
    """The flags of credential-process, serve and update."""
    options = [
        click.option("--trust-anchor-arn", metavar="ARN", help="Trust anchor ARN (its region is "
                     "the default --region)."),
        click.option("--profile-arn", metavar="ARN", help="Profile ARN."),
        click.option("--role-arn", metavar="ARN", help="Role to assume."),
        click.option("--region", metavar="REGION", help="Signing region (default: the trust "
                     "anchor's)."),
        click.option("--endpoint", metavar="URL",
                     help="Roles Anywhere endpoint; else AWS_ENDPOINT_URL_ROLESANYWHERE, else "
                          "AWS_ENDPOINT_URL, else AWS's."),
        click.option("--session-duration", type=int, default=3600, show_default=True,
                     metavar="SECONDS", help="Session duration, 900 to 43200."),
        click.option("--role-session-name", metavar="NAME",
                     help="Role session name (the profile must accept it)."),
        click.option("--no-verify-ssl", is_flag=True, help="Do not verify the server's TLS "
                     "certificate."),
        click.option("--ca-bundle", envvar="AWS_CA_BUNDLE", metavar="PATH",
                     help="CA bundle to trust for the endpoint [env AWS_CA_BUNDLE]."),
        click.option("--with-proxy", is_flag=True,
                     help="Accepted for compatibility: HTTPS_PROXY/NO_PROXY are always "
                          "honoured (as by the Go helper since 1.5)."),
        click.option("--no-proxy", "no_proxy", is_flag=True,
                     help="Ignore HTTPS_PROXY/HTTP_PROXY."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return signer_options(fn)


def open_signer_from(opts: dict[str, Any]) -> Any:
    from roleport.client.signers import open_signer

    linux = "roleport-signing-helper reads keys from files, PKCS#12 and PKCS#11 only"
    _unsupported("--cert-selector", opts.get("cert_selector"), linux)
    _unsupported("--system-store-name", opts.get("system_store_name"), linux)
    _unsupported("--use-latest-expiring-certificate",
                 opts.get("use_latest_expiring_certificate"), linux)
    _unsupported("--tpm-key-password", opts.get("tpm_key_password"), "no TPM support")
    _unsupported("--no-tpm-key-password", opts.get("no_tpm_key_password"), "no TPM support")
    return open_signer(certificate=opts.get("certificate"), private_key=opts.get("private_key"),
                       intermediates=opts.get("intermediates"),
                       pkcs8_password=opts.get("pkcs8_password"),
                       pkcs12_password=opts.get("pkcs12_password"),
                       pkcs11_pin=opts.get("pkcs11_pin"), pkcs11_lib=opts.get("pkcs11_lib"),
                       reuse_pin=bool(opts.get("reuse_pin")), prompt=tty_prompt)


def session_client_from(opts: dict[str, Any]) -> Any:
    """Signer + endpoint + request from the flags: a ready SessionClient."""
    from roleport.client.sessions import SessionClient, SessionRequest, resolve_endpoint

    missing = [flag for flag, name in (("--certificate", "certificate"),
                                       ("--trust-anchor-arn", "trust_anchor_arn"),
                                       ("--profile-arn", "profile_arn"),
                                       ("--role-arn", "role_arn"))
               if not opts.get(name) and not (name == "certificate" and opts.get("private_key"))]
    if missing:
        raise ConfigurationError(
            f"missing {', '.join(missing)}" + (
                " (roleport-signing-helper never falls back to an OS certificate store; if "
                "this runs from credential_process, check that the whole command is on one "
                "line of ~/.aws/config)" if "--certificate" in missing else ""))
    request = SessionRequest(trust_anchor_arn=opts["trust_anchor_arn"],
                             profile_arn=opts["profile_arn"], role_arn=opts["role_arn"],
                             duration_seconds=opts["session_duration"],
                             role_session_name=opts.get("role_session_name") or None)
    endpoint = resolve_endpoint(endpoint=opts.get("endpoint"), region=opts.get("region"),
                                trust_anchor_arn=opts["trust_anchor_arn"],
                                profile_arn=opts["profile_arn"], ca_bundle=opts.get("ca_bundle"),
                                no_verify_ssl=bool(opts.get("no_verify_ssl")),
                                use_proxy_env=not opts.get("no_proxy"))
    signer = open_signer_from(opts)
    return SessionClient(signer=signer, endpoint=endpoint, request=request,
                         debug=_err if opts.get("debug") else None)


# -- commands -------------------------------------------------------------------------------


@click.group(invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Obtain AWS credentials from IAM Roles Anywhere (or Roleport) with an X.509
    certificate: a drop-in for aws_signing_helper.

    Exit status: 0 success, 1 unexpected error, 2 usage error, 3 certificate or key
    problem, 4 the server refused, 5 the server could not be reached, 6 local output
    could not be written.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command("credential-process")
@credential_options
@click.option("--cache", is_flag=True,
              help="Reuse credentials from an on-disk cache (0600) while more than 5 minutes "
                   "are left, to spare CreateSession calls.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Cache folder (default $XDG_CACHE_HOME/roleport/credential-process).")
@handle_errors
def credential_process(cache: bool, cache_dir: Path | None, **opts: Any) -> None:
    """Print credentials as credential_process JSON (for ~/.aws/config)."""
    client = session_client_from(opts)
    try:
        if cache:
            from roleport.client.process_cache import cached

            key = {"certificate": client.signer.certificate.sha256_fingerprint,
                   "trustAnchorArn": client.request.trust_anchor_arn,
                   "profileArn": client.request.profile_arn, "roleArn": client.request.role_arn,
                   "duration": client.request.duration_seconds,
                   "roleSessionName": client.request.role_session_name,
                   "endpoint": client.endpoint.url, "region": client.endpoint.region}
            creds = cached(key, client.create_session, directory=cache_dir)
        else:
            creds = client.create_session()
    finally:
        client.signer.close()
    sys.stdout.write(creds.credential_process_json())
    sys.stdout.flush()


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1] if "/" in role_arn else role_arn.rsplit(":", 1)[-1]


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    while not stop.wait(1.0):
        pass


@cli.command()
@credential_options
@click.option("--port", type=click.IntRange(0, 65535), default=9911, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--hop-limit", type=click.IntRange(1, 255), default=64, show_default=True,
              help="IP TTL / IPv6 hop limit of the responses.")
@click.option("--host", "--listen", "host", default="127.0.0.1", show_default=True,
              metavar="ADDRESS", help="Address to listen on (::1, 0.0.0.0, :: ...).")
@click.option("--ecs", is_flag=True,
              help="Also serve container credentials on /v1/credentials "
                   "(AWS_CONTAINER_CREDENTIALS_FULL_URI); a token is made if none is given.")
@click.option("--ecs-token", envvar="ROLEPORT_ECS_TOKEN", metavar="TOKEN",
              help="Authorization token of /v1/credentials [env ROLEPORT_ECS_TOKEN]; "
                   "implies --ecs.")
@click.option("--ecs-token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the token from this file (written, 0600, if missing); implies --ecs.")
@click.option("--allow-imdsv1", is_flag=True, help="Answer IMDS GETs without a session token.")
@click.option("--refresh-ahead", type=click.FloatRange(1), default=300.0, show_default=True,
              metavar="SECONDS", help="Refresh the credentials this long before they expire.")
@handle_errors
def serve(port: int, hop_limit: int, host: str, ecs: bool, ecs_token: str | None,
          ecs_token_file: Path | None, allow_imdsv1: bool, refresh_ahead: float,
          **opts: Any) -> None:
    """Serve credentials on a local IMDSv2 endpoint (and optionally an ECS one)."""
    from roleport.client.cache import RefreshingCredentials
    from roleport.client.imds import ECS_PATH, CredentialServer, ServeOptions

    client = session_client_from(opts)
    token_hint = None
    if ecs_token_file is not None:
        if ecs_token_file.exists():
            ecs_token = ecs_token_file.read_text().strip()
        else:
            ecs_token = ecs_token or secrets.token_urlsafe(32)
            fd = os.open(ecs_token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(ecs_token + "\n")
        token_hint = f"export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={ecs_token_file.resolve()}"
    elif ecs and not ecs_token:
        ecs_token = secrets.token_urlsafe(32)
    if ecs_token and token_hint is None:
        token_hint = f"export AWS_CONTAINER_AUTHORIZATION_TOKEN={ecs_token}"
    credentials = RefreshingCredentials(client.create_session, refresh_ahead=refresh_ahead,
                                        log=_err)
    server = CredentialServer(credentials, ServeOptions(
        host=host, port=port, hop_limit=hop_limit, role_name=_role_name(opts["role_arn"]),
        ecs_token=ecs_token or None, allow_imdsv1=allow_imdsv1),
        log=_err if opts.get("debug") else None).start()
    credentials.start()
    _err(f"Local server started on port: {server.port}")
    _err("Make it available to the sdk by running:")
    _err(f"export AWS_EC2_METADATA_SERVICE_ENDPOINT={server.base_url}/")
    if ecs_token:
        _err(f"export AWS_CONTAINER_CREDENTIALS_FULL_URI={server.base_url}{ECS_PATH}")
        _err(token_hint or "")
    server.start_background()
    try:
        _wait_for_signal()
    finally:
        server.shutdown()
        credentials.stop()
        client.signer.close()


@cli.command()
@credential_options
@click.option("--credentials-file", type=click.Path(dir_okay=False), metavar="PATH",
              help="Default: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials.")
@click.option("--profile", default="default", show_default=True,
              help="Profile to write in the credentials file.")
@click.option("--once", is_flag=True, help="Write once and exit (default: keep refreshing).")
@click.option("--refresh-ahead", type=click.FloatRange(1), default=300.0, show_default=True,
              metavar="SECONDS", help="Refresh the credentials this long before they expire.")
@handle_errors
def update(credentials_file: str | None, profile: str, once: bool, refresh_ahead: float,
           **opts: Any) -> None:
    """Write credentials into a profile of ~/.aws/credentials, and keep them fresh."""
    from roleport.client.credentials_file import credentials_file_path, write_profile

    client = session_client_from(opts)
    path = credentials_file_path(credentials_file)
    try:
        creds = client.create_session()  # a first failure is reported and ends the command
        written = write_profile(path, profile, creds)
        _err(f"Updated profile [{profile}] in {written}; the credentials expire at "
             f"{creds.expiration}")
        if once:
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        failures = 0
        while not stop.is_set():
            due = creds.expires_at.timestamp() - refresh_ahead
            delay = due - time.time()
            if delay > 0:
                stop.wait(min(delay, 30.0))  # wall clock, survives a suspend
                continue
            try:
                creds = client.create_session()
            except ClientError as exc:
                failures += 1
                backoff = min(300.0, 2.0 ** failures)
                _err(f"{PROG}: refreshing failed: {exc.message}; retrying in {backoff:.0f} s")
                stop.wait(backoff)
                continue
            failures = 0
            write_profile(path, profile, creds)
            _err(f"Updated profile [{profile}] in {written}; the credentials expire at "
                 f"{creds.expiration}")
    finally:
        client.signer.close()


@cli.command("sign-string")
@signer_options
@click.option("--format", "output", type=click.Choice(["json", "text", "bin"]), default="json",
              show_default=True, help="Output format of the signature.")
@click.option("--digest", type=click.Choice(["SHA256", "SHA384", "SHA512"],
                                            case_sensitive=False),
              default="SHA256", show_default=True)
@handle_errors
def sign_string(output: str, digest: str, **opts: Any) -> None:
    """Sign the helper's fixed test string (to check a key works)."""
    from roleport.client.diagnostics import sign_string as sign

    signer = open_signer_from(opts)
    try:
        data = sign(signer, digest=digest.upper(), output=output)
    finally:
        signer.close()
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@cli.command("read-certificate-data")
@click.option("--certificate", metavar="PATH|URI", help="A certificate file or a pkcs11: URI.")
@click.option("--pkcs11-lib", envvar="ROLEPORT_PKCS11_LIB", metavar="PATH")
@click.option("--pkcs11-pin", envvar="ROLEPORT_PKCS11_PIN", metavar="PIN")
@click.option("--cert-selector", hidden=True)
@click.option("--system-store-name", hidden=True)
@click.option("--debug", is_flag=True)
@handle_errors
def read_certificate_data(certificate: str | None, pkcs11_lib: str | None,
                          pkcs11_pin: str | None, cert_selector: str | None,
                          system_store_name: str | None, debug: bool) -> None:
    """Print what the helper sees in a certificate (JSON; a list for PKCS#11)."""
    import json

    from roleport.client.diagnostics import certificate_data, describe_identities
    from roleport.client.signers import read_certificates

    linux = "there are no OS certificate stores to search on Linux"
    _unsupported("--cert-selector", cert_selector, linux)
    _unsupported("--system-store-name", system_store_name, linux)
    if not certificate:
        raise ConfigurationError("--certificate is required (a file or a pkcs11: URI)")
    if certificate.lower().startswith("pkcs11:"):
        from roleport.client.pkcs11 import find_certificates

        found = find_certificates(certificate, module=pkcs11_lib, pin=pkcs11_pin,
                                  prompt=tty_prompt)
        click.echo(describe_identities(found))
        return
    cert = read_certificates(certificate)[0]
    # as the Go helper: compact JSON and no newline after it
    click.echo(json.dumps(certificate_data(cert), separators=(",", ":")), nl=False)


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(__version__)


# -- entry point ----------------------------------------------------------------------------


def _bool_flags() -> set[str]:
    names: set[str] = set()
    for command in cli.commands.values():
        for param in command.params:
            if isinstance(param, click.Option) and param.is_flag:
                names.update(param.opts)
    return names


def normalize_args(args: list[str]) -> list[str]:
    """Accept Go's ``--flag=true``/``--flag=false`` spelling of boolean flags."""
    flags = _bool_flags()
    out = []
    for arg in args:
        name, eq, value = arg.partition("=")
        if eq and name in flags and value.lower() in ("true", "false", "1", "0"):
            if value.lower() in ("true", "1"):
                out.append(name)
            continue
        out.append(arg)
    return out


def main(argv: list[str] | None = None) -> None:
    args = normalize_args(list(sys.argv[1:] if argv is None else argv))
    cli.main(args=args, prog_name=PROG)


if __name__ == "__main__":  # pragma: no cover
    main()
