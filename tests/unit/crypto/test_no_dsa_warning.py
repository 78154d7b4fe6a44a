"""Refusing DSA must not print cryptography's DSA deprecation warning (a new user's first line)."""

from __future__ import annotations

import datetime
import subprocess
import sys
import warnings

import pytest

from roleport.crypto.certificates import load_der


def _dsa_certificate_der() -> bytes:
    with warnings.catch_warnings():  # making the DSA key is the test's business, not ours
        warnings.simplefilter("ignore")
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import dsa
        from cryptography.x509.oid import NameOID

        key = dsa.generate_private_key(2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsa")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(1)
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                .sign(key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.DER)


def test_reading_a_dsa_certificate_warns_nothing() -> None:
    der = _dsa_certificate_der()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cert = load_der(der)
        assert cert.key_type == "DSA"


@pytest.mark.parametrize("module", ["roleport.cli.main", "roleport.cli.signing_helper"])
def test_commands_print_no_warning(module: str) -> None:
    done = subprocess.run([sys.executable, "-W", "always", "-m", module, "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
