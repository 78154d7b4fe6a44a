"""``roleport quickstart``: from a running server to working credentials in one command.

It finds the server the way the AWS tools find endpoints (``--endpoint``, else
``AWS_ENDPOINT_URL_ROLESANYWHERE`` / ``AWS_ENDPOINT_URL``, with ``AWS_CA_BUNDLE``, the
admin keys in ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` and ``AWS_REGION``), else
from what ``roleport serve`` left in its data dir (``server.json``,
``admin-credentials.json``, ``tls/ca.pem``). Then it makes (or reuses) a development CA,
a trust anchor for it, a role with the Roles Anywhere trust policy, a profile and a
client certificate; obtains credentials once and calls ``sts:GetCallerIdentity`` with
them; and prints the ``~/.aws/config`` profile that does the same from any AWS tool.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from roleport.cli.pki import init_pki, is_initialized, issue_certificate
from roleport.client.errors import ClientError

HELPER = "roleport-signing-helper"


@dataclass(frozen=True)
class Target:
    """A server to talk to, and how."""

    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    ca_bundle: str | None
    #: where each fact came from, for the summary
    source: str


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    return data if isinstance(data, dict) else None


def discover(*, endpoint: str | None, region: str | None, ca_bundle: str | None,
             data_dir: Path, environ: dict[str, str] | None = None) -> Target:
    """Find the server, its CA and the admin keys.

    Two consistent sets, never mixed: the AWS way (``--endpoint`` or
    ``AWS_ENDPOINT_URL[_ROLESANYWHERE]``, with ``AWS_CA_BUNDLE``, ``AWS_ACCESS_KEY_ID``...),
    or the local ``roleport serve``'s data dir (``server.json``, ``tls/ca.pem``,
    ``admin-credentials.json``), so that AWS settings meant for AWS itself (a system
    ``AWS_CA_BUNDLE``, real access keys) are not sent to a local server.
    """
    env = dict(os.environ if environ is None else environ)
    server = _read_json(data_dir / "server.json") or {}
    admin = _read_json(data_dir / "admin-credentials.json") or {}
    env_keys = (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY"))
    file_keys = (admin.get("accessKeyId"), admin.get("secretAccessKey"))
    local_bundle = server.get("caBundle") or (
        str(data_dir / "tls" / "ca.pem") if (data_dir / "tls" / "ca.pem").exists() else None)
    if not endpoint and env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        endpoint = env.get("AWS_ENDPOINT_URL_ROLESANYWHERE") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        source = "flags and environment"
        same_server = server.get("endpoint", "").rstrip("/") == endpoint.rstrip("/")
        key_id, secret = env_keys if all(env_keys) else file_keys
        bundle = ca_bundle or env.get("AWS_CA_BUNDLE") or (local_bundle if same_server else None)
        region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") \
            or server.get("region")
    elif server.get("endpoint"):
        endpoint = server["endpoint"]
        source = f"{data_dir}/server.json"
        key_id, secret = file_keys if all(file_keys) else env_keys
        bundle = ca_bundle or local_bundle
        region = region or server.get("region")
    else:
        raise click.ClickException(
            f"no Roleport server found: start one with `make run` (or `roleport serve`), or "
            f"point at one with --endpoint or AWS_ENDPOINT_URL (looked for {data_dir}/"
            f"server.json)")
    if not (key_id and secret):
        raise click.ClickException(
            f"no admin credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run "
            f"quickstart where {data_dir}/admin-credentials.json is readable (--data-dir)")
    return Target(endpoint=str(endpoint).rstrip("/"), region=region or "us-east-1",
                  access_key_id=key_id, secret_access_key=secret,
                  ca_bundle=str(Path(bundle).resolve()) if bundle else None, source=source)


def _client(target: Target, service: str, creds: dict[str, str] | None = None) -> Any:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    keys = creds or {"aws_access_key_id": target.access_key_id,
                     "aws_secret_access_key": target.secret_access_key}
    return session.create_client(service, region_name=target.region,
                                  endpoint_url=target.endpoint,
                                  verify=target.ca_bundle or True,
                                  config=Config(retries={"max_attempts": 2}), **keys)


def helper_command() -> list[str]:
    """How to run the signing helper from a credential_process line."""
    beside = Path(sys.executable).with_name(HELPER)
    if beside.exists():
        return [str(beside)]
    found = shutil.which(HELPER)
    if found:
        return [found]
    return [sys.executable, "-m", "roleport.cli.signing_helper"]


def config_snippet(profile: str, helper_args: list[str], target: Target) -> str:
    command = " ".join(shlex.quote(a) for a in helper_command() + ["credential-process",
                                                                    *helper_args])
    lines = [f"[profile {profile}]", f"credential_process = {command}",
             f"region = {target.region}",
             ("# send the SDK's own calls (STS, IAM...) to Roleport too; drop these two lines "
              "to use real AWS services"),
             f"endpoint_url = {target.endpoint}"]
    if target.ca_bundle:
        lines.append(f"ca_bundle = {target.ca_bundle}")
    return "\n".join(lines) + "\n"


def _write_config(profile: str, snippet: str) -> str:
    path = Path(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()
    text = path.read_text() if path.exists() else ""
    if any(line.strip() == f"[profile {profile}]" for line in text.splitlines()):
        return f"{path} already has [profile {profile}]: left unchanged"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with path.open("a") as handle:
        if text and not text.endswith("\n\n"):
            handle.write("\n" if text.endswith("\n") else "\n\n")
        handle.write(snippet)
    os.chmod(path, 0o600)
    return f"added [profile {profile}] to {path}"


def _client_certificate(pki_dir: Path, stem: str, cn: str,
                        key_type: str) -> tuple[Path, Path, bool]:
    """The quickstart's client certificate: the one issued before if it is still good for a
    day and has ``cn``, else a new one."""
    from datetime import UTC, datetime, timedelta

    from roleport.client.signers import FileSigner

    cert_path, key_path = (pki_dir / f"{stem}.pem").resolve(), (pki_dir / f"{stem}.key").resolve()
    if cert_path.exists() and key_path.exists():
        try:
            signer = FileSigner(cert_path, key_path)
            cert = signer.certificate
            if cert.common_name == cn and signer.certificate.not_after > \
                    datetime.now(UTC) + timedelta(days=1):
                return cert_path, key_path, True
        except ClientError:
            pass
    saved = issue_certificate(pki_dir, cn=cn, name=stem, key_type=key_type, force=True)
    return saved.certificate.resolve(), saved.key.resolve(), False


@click.command()
@click.option("--endpoint", metavar="URL", help="The Roleport server (default: as the AWS tools "
              "find it, else the data dir's server.json).")
@click.option("--region", metavar="REGION")
@click.option("--ca-bundle", metavar="PATH", help="CA bundle of the server's TLS certificate.")
@click.option("--data-dir", envvar="ROLEPORT_DATA_DIR", default=".roleport", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Data dir of a local `roleport serve`.")
@click.option("--pki-dir", envvar="ROLEPORT_PKI_DIR", default="pki", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The development PKI (made with `roleport pki init` if missing).")
@click.option("--name", default="roleport-quickstart", show_default=True,
              help="Name of the trust anchor, role and profile.")
@click.option("--cn", default="quickstart-client", show_default=True,
              help="Common name of the client certificate.")
@click.option("--key-type", type=click.Choice(["ec", "rsa", "mldsa"]), default="ec",
              show_default=True)
@click.option("--session-duration", type=click.IntRange(900, 43200), default=3600,
              show_default=True)
@click.option("--profile", "aws_profile", default="roleport", show_default=True,
              help="Name of the profile in the printed ~/.aws/config snippet.")
@click.option("--write-config", is_flag=True,
              help="Also add the profile to ~/.aws/config (AWS_CONFIG_FILE) if it is not there.")
def quickstart(endpoint: str | None, region: str | None, ca_bundle: str | None, data_dir: Path,
               pki_dir: Path, name: str, cn: str, key_type: str, session_duration: int,
               aws_profile: str, write_config: bool) -> None:
    """Set up a trust anchor, role, profile and client certificate on a running server,
    prove they work, and print the ~/.aws/config profile to use them."""
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError as BotoClientError

    from roleport.client.provisioning import provision
    from roleport.client.sessions import SessionClient, SessionRequest, resolve_endpoint
    from roleport.client.signers import FileSigner

    target = discover(endpoint=endpoint, region=region, ca_bundle=ca_bundle, data_dir=data_dir)
    click.echo(f"Roleport at {target.endpoint} (region {target.region}; found from "
               f"{target.source})")
    created_ca = False
    if not is_initialized(pki_dir):
        init_pki(pki_dir)
        created_ca = True
    ca_pem = (pki_dir / "trust-anchor.pem").read_text() if (pki_dir / "trust-anchor.pem") \
        .exists() else (pki_dir / "ca.pem").read_text()
    click.echo(f"  CA            {pki_dir / 'ca.pem'} ({'created' if created_ca else 'reused'})")
    try:
        done = provision(_client(target, "rolesanywhere"), _client(target, "iam"), ca_pem=ca_pem,
                         name=name, duration_seconds=session_duration, reuse=True,
                         max_session_duration=max(3600, session_duration))
    except (BotoCoreError, BotoClientError) as exc:
        raise click.ClickException(f"cannot set up Roles Anywhere on {target.endpoint}: {exc}"
                                   ) from None

    def state(key: str) -> str:
        return "created" if done.created.get(key) else "reused"

    click.echo(f"  trust anchor  {done.trust_anchor_arn} ({state('trustAnchor')})")
    click.echo(f"  role          {done.role_arn} ({state('role')})")
    click.echo(f"  profile       {done.profile_arn} ({state('profile')})")
    cert_path, key_path, reused = _client_certificate(pki_dir, f"{name}-client", cn, key_type)
    click.echo(f"  certificate   {cert_path} (CN={cn}, key {key_path}) "
               f"({'reused' if reused else 'issued'})")

    helper_args = ["--certificate", str(cert_path), "--private-key", str(key_path)]
    chain_path = cert_path.with_name(f"{name}-client-chain.pem")
    if (pki_dir / "intermediate.pem").exists() and chain_path.exists():
        helper_args += ["--intermediates", str(chain_path)]
    helper_args += ["--trust-anchor-arn", done.trust_anchor_arn,
                    "--profile-arn", done.profile_arn, "--role-arn", done.role_arn,
                    "--endpoint", target.endpoint]
    if target.ca_bundle:
        helper_args += ["--ca-bundle", target.ca_bundle]
    if session_duration != 3600:
        helper_args += ["--session-duration", str(session_duration)]
    try:
        signer = FileSigner(cert_path, key_path)
        client = SessionClient(signer=signer, endpoint=resolve_endpoint(
            endpoint=target.endpoint, region=target.region,
            trust_anchor_arn=done.trust_anchor_arn, profile_arn=done.profile_arn,
            ca_bundle=target.ca_bundle), request=SessionRequest(
            trust_anchor_arn=done.trust_anchor_arn, profile_arn=done.profile_arn,
            role_arn=done.role_arn, duration_seconds=session_duration))
        creds = client.create_session()
    except ClientError as exc:
        raise click.ClickException(f"CreateSession failed: {exc.message}") from None
    try:
        identity = _client(target, "sts", {
            "aws_access_key_id": creds.access_key_id,
            "aws_secret_access_key": creds.secret_access_key,
            "aws_session_token": creds.session_token}).get_caller_identity()
    except (BotoCoreError, BotoClientError) as exc:
        raise click.ClickException(f"the new credentials do not work with STS: {exc}") from None
    click.echo(f"  credentials   {creds.access_key_id}, valid until {creds.expiration}: "
               f"{identity['Arn']}")
    snippet = config_snippet(aws_profile, helper_args, target)
    click.echo("\nAdd this profile to ~/.aws/config:\n")
    click.echo(snippet)
    if write_config:
        click.echo(_write_config(aws_profile, snippet) + "\n")
    click.echo(f"Then: AWS_PROFILE={aws_profile} aws sts get-caller-identity")
