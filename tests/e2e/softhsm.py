"""A SoftHSM2 token for the PKCS#11 tests of both signing helpers (no tests here): keys
and certificates issued by a DevPki, plus an unrelated CA certificate (as on PIV cards)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from roleport.crypto import devpki
from roleport.testing import DevPki

from .test_signing_helper_support import clean_env

MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
           "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
           "/usr/local/lib/softhsm/libsofthsm2.so")
PIN = "1234"

IMPORT_CERTIFICATES = """
    import sys, pkcs11
    from cryptography import x509
    from pkcs11 import Attribute, CertificateType, ObjectClass
    module, token_label, pin = sys.argv[1:4]
    token = pkcs11.lib(module).get_token(token_label=token_label)
    with token.open(rw=True, user_pin=pin) as session:
        for spec in sys.argv[4:]:
            label, hex_id, path = spec.split(",", 2)
            der = open(path, "rb").read()
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.LABEL: label,
                Attribute.ID: bytes.fromhex(hex_id), Attribute.VALUE: der,
                Attribute.SUBJECT: x509.load_der_x509_certificate(der).subject.public_bytes()})
"""


def find_softhsm() -> tuple[str, str]:
    module = next((m for m in MODULES if os.path.exists(m)), None)
    tool = shutil.which("softhsm2-util")
    if module is None or tool is None:
        message = "SoftHSM2 is not installed (apt-get install softhsm2; .ci/run does it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        pytest.fail("python-pkcs11 is missing: pip install 'roleport[pkcs11]'")
    return module, tool


@dataclass
class Token:
    module: str
    env: dict[str, str]
    ec: devpki.IssuedCertificate
    rsa: devpki.IssuedCertificate
    ec_files: Path

    def uri(self, label: str, **query: str) -> str:
        params = "&".join(f"{k}={v}" for k, v in {"module-path": self.module, **query}.items())
        return f"pkcs11:token=roleport;object={label}?{params}"


def make_token(folder: Path, pki: DevPki) -> Token:
    """A SoftHSM2 token in ``folder`` (its own config) with an EC and an RSA key and
    certificate issued by ``pki``, the issuing CA and an unrelated CA certificate."""
    module, tool = find_softhsm()
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    env = clean_env(folder, SOFTHSM2_CONF=str(conf))

    def run(*args: str) -> None:
        done = subprocess.run(list(args), check=False, capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    run(tool, "--init-token", "--free", "--label", "roleport", "--pin", PIN, "--so-pin", "5678")
    ec = pki.issue("token-ec", name="token-ec")
    rsa = devpki.issue_leaf(pki.issuer, "token-rsa", key_type="rsa")
    stranger = devpki.create_root_ca("Unrelated Token CA")  # a PIV-style extra certificate
    files = {}
    for name, issued in (("ec", ec.issued), ("rsa", rsa)):
        key_file = folder / f"{name}.key"
        key_file.write_text(issued.key_pem)
        run(tool, "--import", str(key_file), "--token", "roleport", "--label", name,
            "--id", {"ec": "01", "rsa": "02"}[name], "--pin", PIN)
        key_file.unlink()
    for name, cert in (("ec", ec.certificate), ("rsa", rsa.certificate),
                       ("issuer", pki.issuer.certificate), ("stranger", stranger.certificate)):
        files[name] = folder / f"{name}.der"
        files[name].write_bytes(cert.der)
    ids = {"ec": "01", "rsa": "02", "issuer": "10", "stranger": "11"}
    run(sys.executable, "-c", textwrap.dedent(IMPORT_CERTIFICATES), module, "roleport", PIN,
        *[f"{name},{ids[name]},{path}" for name, path in files.items()])
    return Token(module, env, ec.issued, rsa, ec.certificate_path)
