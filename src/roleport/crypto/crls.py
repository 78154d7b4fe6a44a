"""Certificate revocation lists: parse once, check the signer, look serials up.

ImportCrl takes a PEM CRL (Roleport also accepts DER). :func:`load_crl` reads all of it
eagerly, so a :class:`Crl` that exists never raises. :func:`verify_crl_signed_by` finds
which CA of a trust anchor signed it; the revocation check itself, over a validated
chain, is :func:`roleport.crypto.paths.check_not_revoked`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from roleport.crypto.algorithms import describe_signature_algorithm
from roleport.crypto.armor import pem
from roleport.crypto.certificates import Certificate
from roleport.crypto.errors import CrlError
from roleport.crypto.names import name_attributes

__all__ = ["Crl", "load_crl", "verify_crl_signed_by"]

_PEM_MARKER = b"-----BEGIN X509 CRL-----"


class Crl:
    """An immutable, parsed CRL. Equal when the DER encodings are."""

    __slots__ = (
        "_authority_key_identifier",
        "_crl",
        "_crl_number",
        "_der",
        "_issuer_attributes",
        "_issuer_dn",
        "_issuer_name_der",
        "_last_update",
        "_next_update",
        "_revoked",
        "_signature_algorithm_oid",
        "_signature_hash",
    )

    def __init__(self, crl: x509.CertificateRevocationList) -> None:
        """Read every field of ``crl`` (internal: use :func:`load_crl`)."""
        try:
            self._read(crl)
        except Exception as exc:  # cryptography parses lazily: any field may be malformed
            raise CrlError("CRL could not be parsed", detail=str(exc)) from exc

    def _read(self, crl: x509.CertificateRevocationList) -> None:
        self._crl = crl
        self._der = crl.public_bytes(serialization.Encoding.DER)
        self._issuer_dn = crl.issuer.rfc4514_string()
        self._issuer_attributes = tuple(name_attributes(crl.issuer))
        self._issuer_name_der = crl.issuer.public_bytes()
        self._last_update = crl.last_update_utc
        self._next_update = crl.next_update_utc
        self._revoked = {
            int(entry.serial_number): entry.revocation_date_utc for entry in crl
        }
        extensions = crl.extensions
        try:
            number = extensions.get_extension_for_class(x509.CRLNumber).value
            self._crl_number: int | None = int(number.crl_number)
        except x509.ExtensionNotFound:
            self._crl_number = None
        try:
            aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
            self._authority_key_identifier = aki.key_identifier
        except x509.ExtensionNotFound:
            self._authority_key_identifier = None
        self._signature_algorithm_oid = crl.signature_algorithm_oid.dotted_string
        try:
            hash_algorithm = crl.signature_hash_algorithm
        except UnsupportedAlgorithm:
            hash_algorithm = None
        self._signature_hash = hash_algorithm.name if hash_algorithm is not None else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Crl) and other._der == self._der

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        return f"Crl(issuer={self._issuer_dn!r}, revoked={len(self._revoked)})"

    @property
    def der(self) -> bytes:
        """The DER encoding."""
        return self._der

    @property
    def pem(self) -> str:
        """The PEM encoding (``-----BEGIN X509 CRL-----``)."""
        return pem(self._der, "X509 CRL")

    @property
    def issuer_dn(self) -> str:
        """Issuer as an RFC 4514 string (same rendering as ``Certificate.issuer_dn``)."""
        return self._issuer_dn

    @property
    def issuer_attributes(self) -> list[tuple[str, str]]:
        """Recognised issuer attributes as ``(short name, value)``, in CRL order."""
        return list(self._issuer_attributes)

    @property
    def last_update(self) -> datetime:
        """thisUpdate (aware, UTC)."""
        return self._last_update

    @property
    def next_update(self) -> datetime | None:
        """nextUpdate (aware, UTC), or ``None`` when the CRL has none."""
        return self._next_update

    @property
    def crl_number(self) -> int | None:
        """The cRLNumber extension, if present."""
        return self._crl_number

    @property
    def authority_key_identifier(self) -> bytes | None:
        """authorityKeyIdentifier keyIdentifier, if present."""
        return self._authority_key_identifier

    @property
    def signature_algorithm(self) -> str:
        """Readable name of the algorithm the issuer signed the CRL with."""
        return describe_signature_algorithm(self._signature_algorithm_oid)

    @property
    def signature_hash(self) -> str | None:
        """Digest of the CRL signature (``"sha256"``...), ``None`` for ML-DSA/EdDSA."""
        return self._signature_hash

    @property
    def revoked_serials(self) -> frozenset[int]:
        """Serial numbers the CRL revokes."""
        return frozenset(self._revoked)

    def is_revoked(self, serial: int) -> bool:
        """True when ``serial`` is on the list."""
        return serial in self._revoked

    def revocation_date(self, serial: int) -> datetime | None:
        """When ``serial`` was revoked (aware, UTC), or ``None`` if it is not."""
        return self._revoked.get(serial)

    def is_issued_by_name_of(self, cert: Certificate) -> bool:
        """True when the CRL issuer name equals ``cert``'s *issuer* name (the CRL covers it)."""
        return cert._issuer_name_der == self._issuer_name_der

    def is_stale(self, now: datetime) -> bool:
        """True when ``now`` is past nextUpdate (never, without a nextUpdate)."""
        return self._next_update is not None and now > self._next_update


def load_crl(data: bytes | str) -> Crl:
    """Parse a PEM or DER CRL; raises CrlError("CRL could not be parsed")."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
    try:
        loader = x509.load_pem_x509_crl if _PEM_MARKER in raw else x509.load_der_x509_crl
        crl = loader(raw)
    except Exception as exc:  # any parsing failure of untrusted bytes
        raise CrlError("CRL could not be parsed", detail=str(exc)) from exc
    return Crl(crl)


def verify_crl_signed_by(crl: Crl, ca_certs: list[Certificate]) -> Certificate:
    """The CA of ``ca_certs`` whose name issued ``crl`` and whose key signed it.

    Raises CrlError("CRL is not signed by a CA certificate of the trust anchor ...").
    """
    same_name = [ca for ca in ca_certs if ca._subject_name_der == crl._issuer_name_der]
    for ca in same_name:
        try:
            public_key: Any = ca._x509.public_key()
            if crl._crl.is_signature_valid(public_key):
                return ca
        except (TypeError, ValueError, UnsupportedAlgorithm):
            continue
    reason = ("its signature matches none of them" if same_name
              else "its issuer matches no CA subject")
    raise CrlError(
        f"CRL is not signed by a CA certificate of the trust anchor "
        f"(CRL issuer {crl.issuer_dn!r}: {reason})"
    )
