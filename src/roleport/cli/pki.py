"""``roleport pki``: a development PKI in a folder, for trying Roles Anywhere out.

``init`` makes a root CA (and with ``--intermediate`` an issuing CA under it); ``issue``
makes client certificates fit for CreateSession; ``revoke`` and ``crl`` make a CRL to
import. The folder (``./pki`` by default, mode 0700) holds::

    ca.pem ca.key                 the root CA (import ca.pem, or trust-anchor.pem, as a
                                  trust anchor)
    intermediate.pem .key         the issuing CA, with --intermediate
    trust-anchor.pem              the CA certificates a trust anchor needs
    NAME.pem NAME.key             an issued client certificate and key (keys are 0600)
    NAME-chain.pem NAME-fullchain.pem
    NAME.p12                      with --p12
    index.json                    what was issued and revoked, the next CRL number
    crl.pem                       the last CRL

Not a production CA: keys are stored unencrypted unless ``--password`` is given.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from roleport.crypto import devpki
from roleport.crypto.errors import CryptoError

DEFAULT_DIR = Path("pki")
RESERVED = frozenset({"ca", "intermediate", "trust-anchor", "index", "crl"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

dir_option = click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
                          default=DEFAULT_DIR, show_default=True, envvar="ROLEPORT_PKI_DIR",
                          help="The PKI folder [env ROLEPORT_PKI_DIR].")
key_type_option = click.option("--key-type", type=click.Choice(["ec", "rsa", "mldsa"]),
                               default="ec", show_default=True,
                               help="EC P-256, RSA 2048 or ML-DSA-65.")


class PkiError(click.ClickException):
    pass


# -- the folder -------------------------------------------------------------------------------


def _index_path(directory: Path) -> Path:
    return directory / "index.json"


def load_index(directory: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(_index_path(directory).read_text())
    except FileNotFoundError:
        return {"issued": [], "crlNumber": 1}
    except (OSError, ValueError) as exc:
        raise PkiError(f"cannot read {_index_path(directory)}: {exc}") from None
    return data


def save_index(directory: Path, index: dict[str, Any]) -> None:
    path = _index_path(directory)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(index, indent=2) + "\n")
    os.replace(tmp, path)


def is_initialized(directory: Path) -> bool:
    return (directory / "ca.pem").exists() and (directory / "ca.key").exists()


def issuing_ca(directory: Path, password: str | None = None) -> devpki.IssuedCertificate:
    """The CA that signs new certificates: the intermediate if there is one."""
    if not is_initialized(directory):
        raise PkiError(f"no CA in {directory}: run `roleport pki init --dir {directory}` first")
    try:
        if (directory / "intermediate.pem").exists():
            return devpki.load_ca(directory, "intermediate", password=password)
        return devpki.load_ca(directory, "ca", password=password)
    except CryptoError as exc:
        raise PkiError(f"cannot load the CA in {directory}: {exc.full}") from None


def init_pki(directory: Path, *, cn: str = "Roleport Dev Root CA", key_type: str = "ec",
             days: int = 3650, intermediate: bool = False,
             password: str | None = None) -> list[Path]:
    """Create the CA files; return the paths written."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        root = devpki.create_root_ca(cn, key_type=key_type, days=days)
        written = devpki.save(root, directory, "ca", password=password)
        paths = [written.certificate, written.key]
        anchor = root.cert_pem
        if intermediate:
            inter_cn = cn.replace("Root", "Intermediate") if "Root" in cn else \
                f"{cn} Intermediate"
            inter = devpki.create_intermediate_ca(root, inter_cn, key_type=key_type,
                                                  days=max(1, days // 2))
            saved = devpki.save(inter, directory, "intermediate", password=password)
            paths += [saved.certificate, saved.key]
            anchor += inter.cert_pem
    except CryptoError as exc:
        raise PkiError(exc.full) from None
    (directory / "trust-anchor.pem").write_text(anchor)
    paths.append(directory / "trust-anchor.pem")
    save_index(directory, {"issued": [], "crlNumber": 1})
    return paths


def issue_certificate(directory: Path, *, cn: str, name: str | None = None,
                      sans: tuple[str, ...] = (), key_type: str = "ec", days: int = 365,
                      password: str | None = None, ca_password: str | None = None,
                      p12: bool = False, force: bool = False) -> devpki.SavedFiles:
    """Issue a client certificate into ``directory``."""
    stem = name or re.sub(r"[^A-Za-z0-9._-]+", "-", cn).strip("-.") or "client"
    if not _NAME.fullmatch(stem) or stem in RESERVED:
        raise PkiError(f"cannot name the files {stem!r}: use --name with letters, digits, "
                       f"'.', '_' or '-' (not {', '.join(sorted(RESERVED))})")
    if (directory / f"{stem}.pem").exists() and not force:
        raise PkiError(f"{directory / (stem + '.pem')} exists: pass --force to replace it, or "
                       f"--name for another file name")
    issuer = issuing_ca(directory, ca_password)
    try:
        leaf = devpki.issue_leaf(issuer, cn, sans=list(sans), key_type=key_type, days=days)
        saved = devpki.save(leaf, directory, stem, password=password)
        if p12:
            path = directory / f"{stem}.p12"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(leaf.pkcs12(password))
    except CryptoError as exc:
        raise PkiError(exc.full) from None
    index = load_index(directory)
    index["issued"].append({"name": stem, "cn": cn, "serial": leaf.certificate.serial_hex,
                            "notAfter": leaf.certificate.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "revoked": None})
    save_index(directory, index)
    return saved


# -- commands ---------------------------------------------------------------------------------


@click.group()
def pki() -> None:
    """A development PKI: CAs, client certificates, CRLs (not for production)."""


@pki.command()
@dir_option
@click.option("--cn", default="Roleport Dev Root CA", show_default=True,
              help="Common name of the root CA.")
@key_type_option
@click.option("--days", type=click.IntRange(1), default=3650, show_default=True)
@click.option("--intermediate", is_flag=True,
              help="Also make an intermediate CA, which then issues the certificates.")
@click.option("--password", envvar="ROLEPORT_PKI_PASSWORD",
              help="Encrypt the CA keys with this passphrase [env ROLEPORT_PKI_PASSWORD].")
@click.option("--force", is_flag=True, help="Replace an existing CA.")
def init(directory: Path, cn: str, key_type: str, days: int, intermediate: bool,
         password: str | None, force: bool) -> None:
    """Create a development root CA (and optionally an intermediate)."""
    if is_initialized(directory) and not force:
        raise PkiError(f"{directory} already holds a CA (pass --force to replace it)")
    paths = init_pki(directory, cn=cn, key_type=key_type, days=days,
                     intermediate=intermediate, password=password)
    for path in paths:
        click.echo(f"wrote {path}")
    click.echo(f"\nImport {directory / 'trust-anchor.pem'} as a trust anchor, then issue "
               f"client certificates with `roleport pki issue --dir {directory} --cn NAME`.")


@pki.command()
@dir_option
@click.option("--cn", required=True, help="Common name of the client certificate.")
@click.option("--san", "sans", multiple=True, metavar="TYPE:VALUE",
              help="subjectAltName, repeatable: DNS:x, URI:spiffe://..., email:x, IP:x.")
@key_type_option
@click.option("--days", type=click.IntRange(1), default=365, show_default=True)
@click.option("--name", help="File name stem (default: from the CN).")
@click.option("--password", envvar="ROLEPORT_PKCS8_PASSWORD",
              help="Encrypt the private key (PKCS#8) and the .p12 with this passphrase.")
@click.option("--ca-password", envvar="ROLEPORT_PKI_PASSWORD",
              help="Passphrase of the CA key [env ROLEPORT_PKI_PASSWORD].")
@click.option("--p12", is_flag=True, help="Also write NAME.p12 (key, certificate, chain).")
@click.option("--force", is_flag=True, help="Replace existing files of that name.")
def issue(directory: Path, cn: str, sans: tuple[str, ...], key_type: str, days: int,
          name: str | None, password: str | None, ca_password: str | None, p12: bool,
          force: bool) -> None:
    """Issue a client certificate fit for Roles Anywhere."""
    saved = issue_certificate(directory, cn=cn, name=name, sans=sans, key_type=key_type,
                              days=days, password=password, ca_password=ca_password, p12=p12,
                              force=force)
    for path in (saved.certificate, saved.key, saved.chain, saved.fullchain):
        if path is not None:
            click.echo(f"wrote {path}")
    if p12:
        click.echo(f"wrote {saved.certificate.with_suffix('.p12')}")


def _find_entry(index: dict[str, Any], name: str | None, serial: str | None) -> dict[str, Any]:
    wanted = serial.lower().removeprefix("0x").lstrip("0") if serial else None
    entries: list[dict[str, Any]] = index["issued"]
    for item in reversed(entries):  # the latest of a name re-issued with --force
        found: dict[str, Any] = item
        if name is not None and found["name"] == name:
            return found
        if wanted is not None and str(found["serial"]).lstrip("0") == wanted:
            return found
    raise PkiError(f"no certificate {'named ' + name if name else 'with serial ' + str(serial)} "
                   f"in index.json")


@pki.command()
@dir_option
@click.argument("name", required=False)
@click.option("--serial", help="Serial number (hex) instead of NAME.")
def revoke(directory: Path, name: str | None, serial: str | None) -> None:
    """Revoke an issued certificate (by file name or serial); then run `roleport pki crl`."""
    if bool(name) == bool(serial):
        raise click.UsageError("give either NAME or --serial")
    index = load_index(directory)
    entry = _find_entry(index, name, serial)
    if entry.get("revoked"):
        click.echo(f"{entry['name']} (serial {entry['serial']}) was already revoked")
        return
    entry["revoked"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    save_index(directory, index)
    click.echo(f"revoked {entry['name']} (serial {entry['serial']}); run `roleport pki crl "
               f"--dir {directory}` and import the CRL")


@pki.command()
@dir_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the CRL (default DIR/crl.pem).")
@click.option("--der", is_flag=True, help="Write DER instead of PEM.")
@click.option("--days", type=click.IntRange(1), default=30, show_default=True,
              help="Days until nextUpdate.")
@click.option("--ca-password", envvar="ROLEPORT_PKI_PASSWORD")
def crl(directory: Path, out: Path | None, der: bool, days: int, ca_password: str | None) -> None:
    """Write a CRL of the revoked certificates, signed by the issuing CA."""
    issuer = issuing_ca(directory, ca_password)
    index = load_index(directory)
    revoked = [(int(e["serial"], 16), datetime.strptime(e["revoked"], "%Y-%m-%dT%H:%M:%SZ")
                .replace(tzinfo=UTC)) for e in index["issued"] if e.get("revoked")]
    number = int(index.get("crlNumber", 1))
    try:
        made = devpki.create_crl(issuer, revoked, days=days, crl_number=number)
    except CryptoError as exc:
        raise PkiError(exc.full) from None
    path = out or directory / ("crl.der" if der else "crl.pem")
    if der:
        path.write_bytes(made.der)
    else:
        path.write_text(made.pem)
    index["crlNumber"] = number + 1
    save_index(directory, index)
    click.echo(f"wrote {path} (CRL number {number}, {len(revoked)} revoked)")
    click.echo(f"import it: aws rolesanywhere import-crl --name dev-crl --enabled "
               f"--trust-anchor-arn ARN --crl-data fileb://{path}")
