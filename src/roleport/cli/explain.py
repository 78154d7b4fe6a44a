"""``roleport explain``: why would (or wouldn't) this certificate get credentials?"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from roleport.client.explain import (
    EXIT_UNREADABLE,
    Explanation,
    explain,
    profile_from_api,
    role_from_api,
    tags_from_api,
    trust_anchor_from_api,
)

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
T = TypeVar("T")
_MARK = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


class _Unreadable(click.ClickException):
    exit_code = EXIT_UNREADABLE


@click.command("explain")
@click.argument("certificate", type=_FILE)
@click.option("--chain", "chains", multiple=True, type=_FILE,
              help="Intermediate CA certificates (PEM bundle or DER), as X-Amz-X509-Chain "
                   "would carry them. Repeatable.")
@click.option("--private-key", type=_FILE, default=None,
              help="The certificate's private key (PEM or DER): explain then signs a request "
                   "and checks the signature too. Without it that check is skipped.")
@click.option("--key-password", envvar="ROLEPORT_PKCS8_PASSWORD", default=None,
              help="Passphrase of an encrypted private key (env ROLEPORT_PKCS8_PASSWORD).")
@click.option("--trust-anchor", default=None, metavar="ID|ARN",
              help="The trust anchor to read from the server (optional with "
                   "--trust-anchor-file).")
@click.option("--profile", default=None, metavar="ID|ARN", help="The profile (optional with "
              "--profile-file).")
@click.option("--role", default=None, metavar="ARN|NAME",
              help="The role to request (a name: in the trust anchor's account).")
@click.option("--endpoint", envvar="AWS_ENDPOINT_URL", default=None,
              help="A running Roleport server to read them from, with the admin keys of the "
                   "account in the usual AWS variables (AWS_ACCESS_KEY_ID...) or --aws-profile.")
@click.option("--region", envvar="AWS_REGION", default=None, help="The server's region.")
@click.option("--ca-bundle", envvar="AWS_CA_BUNDLE", default=None,
              help="CA bundle for the server's TLS certificate.")
@click.option("--aws-profile", default=None, help="A profile of ~/.aws/config with the keys.")
@click.option("--trust-anchor-file", type=_FILE, default=None,
              help="GetTrustAnchor output (JSON), instead of reading it from a server.")
@click.option("--profile-file", type=_FILE, default=None,
              help="GetProfile output (JSON), instead of reading it from a server.")
@click.option("--role-file", type=_FILE, default=None,
              help="IAM GetRole output (JSON), to evaluate the role's trust policy.")
@click.option("--crl", "crl_files", multiple=True, type=_FILE,
              help="A CRL imported on the trust anchor (PEM or DER; with files). Repeatable.")
@click.option("--trust-anchor-tags-file", type=_FILE, default=None,
              help="ListTagsForResource output (JSON) of the trust anchor, with files: its "
                   "roleport:ocsp and roleport:spiffeTrustDomain tags turn on the OCSP and "
                   "SPIFFE checks (read from the server with --endpoint).")
@click.option("--ca-certificate", type=_FILE, default=None,
              help="The CA certificate (PEM) of an AWS_ACM_PCA trust anchor: the server's "
                   "snapshot is not in GetTrustAnchor output. Without it the certificate "
                   "check of such an anchor is skipped.")
@click.option("--spiffe-bundle", "spiffe_bundles", multiple=True,
              metavar="TRUST_DOMAIN=URL|FILE",
              help="The SPIFFE bundle of a trust domain, as given to roleport serve. Without "
                   "it an anchor following a bundle is checked against the authorities it "
                   "holds (the bundle as the server last read it). Repeatable.")
@click.option("--spiffe-bundle-ca", type=_FILE, default=None,
              help="CA bundle for the SPIFFE bundle endpoints' TLS certificates.")
@click.option("--ocsp-timeout", type=click.FloatRange(0.1, 60), default=5.0,
              show_default=True,
              help="Seconds to wait for an OCSP responder (anchors tagged roleport:ocsp); "
                   "one that cannot be reached from here skips the revocation check.")
@click.option("--role-session-name", default=None, help="roleSessionName to request.")
@click.option("--duration-seconds", type=click.IntRange(900, 43200), default=None,
              help="durationSeconds to request.")
@click.option("--at", "at", type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
              default=None, help="Evaluate at this UTC time instead of now.")
@click.option("--strict-signing", is_flag=True,
              help="Check as a server run with --strict-signing does.")
@click.option("--invalid-tag-values", type=click.Choice(["fail", "drop"]), default="fail",
              show_default=True, help="As the server's option of that name.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, for tools.")
def explain_command(certificate: Path, chains: tuple[Path, ...], private_key: Path | None,
                    key_password: str | None, trust_anchor: str | None, profile: str | None,
                    role: str | None, endpoint: str | None, region: str | None,
                    ca_bundle: str | None, aws_profile: str | None,
                    trust_anchor_file: Path | None, profile_file: Path | None,
                    role_file: Path | None, crl_files: tuple[Path, ...],
                    trust_anchor_tags_file: Path | None, ca_certificate: Path | None,
                    spiffe_bundles: tuple[str, ...], spiffe_bundle_ca: Path | None,
                    ocsp_timeout: float, role_session_name: str | None,
                    duration_seconds: int | None,
                    at: datetime | None, strict_signing: bool, invalid_tag_values: str,
                    as_json: bool) -> None:
    """Run every CreateSession check on CERTIFICATE (PEM or DER), offline, in AWS's order,
    and say for each one: passed, or failed with the precise reason and what to change.

    The trust anchor, profile and role come from a running server (--endpoint and the
    account's admin keys) or from files (--trust-anchor-file, --profile-file,
    --role-file, --crl: the JSON the AWS CLI prints for get-trust-anchor, get-profile
    and iam get-role). The checks are the server's own code, so the verdict is the
    server's. Roleport's tag-driven checks run too: OCSP (asked from here; a responder
    that cannot be reached skips the revocation check) and SPIFFE X.509-SVIDs.

    Exit codes: 0 the exchange would succeed; 1 it would be refused (the first FAIL is
    what the server answers); 2 bad usage; 3 the inputs could not be read (a file, the
    server); 4 every check that ran passed, but one was skipped (without --private-key
    the signature, without --role-file the trust policy, an OCSP responder out of reach).
    """
    from roleport.crypto.errors import CryptoError
    from roleport.domain.revocation import OcspChecker, ocsp_mode
    from roleport.domain.session_checks import SessionSettings

    leaf, chain, key = _read_credential(certificate, chains, private_key, key_password)
    if endpoint is None and not (trust_anchor_file and profile_file):
        raise click.UsageError("give --endpoint (a server to read from) or "
                               "--trust-anchor-file and --profile-file")
    try:
        inputs = (_from_server(endpoint, region, ca_bundle, aws_profile, trust_anchor,
                               profile, role) if endpoint and not trust_anchor_file
                  else _from_files(trust_anchor_file, profile_file, role_file, crl_files,
                                   trust_anchor, profile, role, trust_anchor_tags_file))
        if ca_certificate is not None and inputs["anchor"] is not None:
            inputs["anchor"].ca_snapshot = ca_certificate.read_text()
    except (OSError, ValueError, KeyError, CryptoError) as exc:
        raise _Unreadable(f"cannot read the resources: {exc}") from None
    from roleport.server.crl_fetcher import HttpCrlFetcher, HttpOcspFetcher

    distribution_points = ocsp = None
    if inputs["anchor"] is not None and inputs["anchor"].crl_dp_revocation_enabled:
        from roleport.domain.revocation import DistributionPointCache

        distribution_points = DistributionPointCache(HttpCrlFetcher())
    settings = SessionSettings(lenient=not strict_signing, invalid_tag_values=invalid_tag_values)
    if inputs["anchor"] is not None and ocsp_mode(inputs["anchor"].tags) is not None:
        ocsp = OcspChecker(HttpOcspFetcher(timeout=ocsp_timeout), max_skew=settings.max_skew)
    done = explain(leaf, chain, key, settings=settings, role_session_name=role_session_name,
                   duration_seconds=duration_seconds, distribution_points=distribution_points,
                   now=at.replace(tzinfo=UTC) if at else None, ocsp=ocsp,
                   spiffe=_spiffe(spiffe_bundles, spiffe_bundle_ca), **inputs)
    click.echo(json.dumps(done.as_json(), indent=2) if as_json else render(done))
    sys.exit(done.exit_code)


def render(done: Explanation) -> str:
    """The human-readable report."""
    cert = done.certificate
    lines = [f"certificate  {cert.subject_dn or '(empty subject)'}  (serial {cert.serial_hex}, "
             f"issuer {cert.issuer_dn}, valid {cert.not_before:%Y-%m-%d %H:%M:%S} to "
             f"{cert.not_after:%Y-%m-%d %H:%M:%S} UTC)",
             f"trust anchor {done.trust_anchor_arn}", f"profile      {done.profile_arn}",
             f"role         {done.role_arn}", ""]
    for result in done.results:
        head = f"{_MARK[result.status]}  {result.check}"
        if result.status == "passed":
            lines.append(head)
            continue
        lines.append(f"{head}: {result.reason}")
        if result.failed:
            lines.append(f"      the server answers: 403 AccessDeniedException "
                         f"\"{result.message}\"")
            if result.check in done.hints:
                lines.append(f"      to change: {done.hints[result.check]}")
    refused = done.refused
    lines.append("")
    if refused is not None:
        lines.append(f"REFUSED by the {refused.check} check: 403 \"{refused.message}\"")
    elif not done.complete:
        skipped = ", ".join(r.check for r in done.results if r.status == "skipped")
        lines.append(f"WOULD SUCCEED as far as checked: {skipped} not checked (see the "
                     f"SKIP lines: --private-key for the signature, --role-file for the "
                     f"trust policy)")
    else:
        lines.append("WOULD SUCCEED: CreateSession issues credentials")
    return "\n".join(lines)


def _read_credential(certificate: Path, chains: tuple[Path, ...], private_key: Path | None,
                     password: str | None) -> tuple[Any, list[Any], Any]:
    from roleport.client.signers import SignerError, read_certificates
    from roleport.crypto.errors import KeyLoadError
    from roleport.crypto.keys import load_private_key

    try:
        leaf = read_certificates(certificate)[0]
        chain = [c for path in chains for c in read_certificates(path, "chain")]
        key = load_private_key(private_key.read_bytes(), password) if private_key else None
    except (SignerError, KeyLoadError) as exc:
        raise _Unreadable(exc.message) from None
    except OSError as exc:
        raise _Unreadable(f"cannot read {exc.filename}: {exc.strerror}") from None
    if key is not None and key.key_type not in ("RSA", "EC", "ML-DSA"):
        raise _Unreadable(f"{private_key}: {key.key_type} keys cannot sign CreateSession "
                          f"requests (the server refuses them: Invalid signature)")
    return leaf, chain, key


def _spiffe(entries: tuple[str, ...], ca_file: Path | None) -> Any:
    """The SPIFFE bundles given (``TRUST_DOMAIN=URL|FILE``), fetched as the server does."""
    if not entries:
        return None
    from roleport.cli.serve import _spiffe_bundles
    from roleport.domain.spiffe import BundlePaths, SpiffeBundles
    from roleport.server.crl_fetcher import SpiffeBundleFetcher

    sources = dict(entry.split("=", 1) for entry in _spiffe_bundles(entries))
    return BundlePaths(SpiffeBundles(sources, SpiffeBundleFetcher(
        ca_file=str(ca_file) if ca_file else None)))


def _role_arn(role: str, account: str) -> str:
    return role if role.startswith("arn:") else f"arn:aws:iam::{account}:role/{role}"


def _from_files(anchor_file: Path | None, profile_file: Path | None, role_file: Path | None,
                crl_files: tuple[Path, ...], anchor_ref: str | None, profile_ref: str | None,
                role: str | None, tags_file: Path | None = None) -> dict[str, Any]:
    from roleport.crypto.crls import load_crl

    assert anchor_file is not None and profile_file is not None
    anchor = trust_anchor_from_api(json.loads(anchor_file.read_text()))
    if tags_file is not None:
        anchor.tags = tags_from_api(json.loads(tags_file.read_text()))
    found = profile_from_api(json.loads(profile_file.read_text()))
    facts = role_from_api(json.loads(role_file.read_text())) if role_file else None
    role_arn = _role_arn(role, anchor.account_id) if role else (
        facts.arn if facts else (found.role_arns or [""])[0])
    return {"anchor": anchor, "trust_anchor_arn": anchor.arn, "profile": found,
            "profile_arn": found.arn, "role": facts, "role_arn": role_arn,
            "role_known": role_file is not None,
            "crls": [load_crl(path.read_bytes()) for path in crl_files]}


def _from_server(endpoint: str, region: str | None, ca_bundle: str | None,
                 aws_profile: str | None, anchor_ref: str | None, profile_ref: str | None,
                 role: str | None) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from roleport.crypto.crls import load_crl

    if not (anchor_ref and profile_ref and role):
        raise click.UsageError("--trust-anchor, --profile and --role are needed with --endpoint")
    session = boto3.session.Session(profile_name=aws_profile, region_name=region)
    options = {"endpoint_url": endpoint, "verify": ca_bundle if ca_bundle else None}
    ra, iam = session.client("rolesanywhere", **options), session.client("iam", **options)

    def found(read: Callable[[], T]) -> T | None:
        """What ``read`` returns, or None when the server has no such resource."""
        try:
            return read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("ResourceNotFoundException", "NoSuchEntity",
                                                 "ValidationException"):
                return None
            raise

    try:
        anchor = found(lambda: trust_anchor_from_api(
            ra.get_trust_anchor(trustAnchorId=anchor_ref)))
        if anchor is not None:  # roleport:ocsp, roleport:spiffeTrustDomain
            anchor.tags = tags_from_api(ra.list_tags_for_resource(resourceArn=anchor.arn))
        account = anchor.account_id if anchor else (
            anchor_ref.split(":")[4] if anchor_ref.startswith("arn:")
            else session.client("sts", **options).get_caller_identity()["Account"])
        anchor_arn = anchor.arn if anchor else anchor_ref if anchor_ref.startswith("arn:") \
            else f"arn:aws:rolesanywhere:{session.region_name}:{account}:trust-anchor/{anchor_ref}"
        profile = found(lambda: profile_from_api(ra.get_profile(profileId=profile_ref)))
        profile_arn = profile.arn if profile else profile_ref \
            if profile_ref.startswith("arn:") else anchor_arn.replace(
                "trust-anchor/", "profile/").rsplit("/", 1)[0] + f"/{profile_ref}"
        role_arn = _role_arn(role, account)
        facts = found(lambda: role_from_api(iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])))
        if facts is not None and facts.arn != role_arn:
            facts = None  # a role of that name in this account is not the one named
        crls = [load_crl(c["crlData"]) for page in ra.get_paginator("list_crls").paginate()
                for c in page["crls"]
                if anchor and c.get("trustAnchorArn") == anchor.arn and c.get("enabled")]
    except (ClientError, BotoCoreError) as exc:
        raise _Unreadable(f"cannot read from {endpoint}: {exc}") from None
    return {"anchor": anchor, "trust_anchor_arn": anchor_arn, "profile": profile,
            "profile_arn": profile_arn, "role": facts, "role_arn": role_arn, "crls": crls}
