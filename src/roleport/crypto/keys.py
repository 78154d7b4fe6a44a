"""Private keys: load them, generate them, and sign CreateSession requests with them.

A :class:`PrivateKey` signs the string to sign the way the AWS clients do for its key
type (``algorithm`` tells which):

=======  =========================  ========================================
key      ``algorithm``              signature
=======  =========================  ========================================
RSA      ``AWS4-X509-RSA-SHA256``   PKCS#1 v1.5 with SHA-256
EC       ``AWS4-X509-ECDSA-SHA256`` ECDSA with SHA-256, DER ``SEQUENCE{r,s}``
ML-DSA   ``AWS4-X509-MLDSA``        ML-DSA over the raw bytes, empty context
=======  =========================  ========================================

:meth:`PrivateKey.sign_as` makes the deviant signatures some clients send (RSA-PSS,
raw ``r||s``, SHA-384), so other packages can test the server's leniencies without
importing ``cryptography``.

Loading accepts PEM (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8, legacy OpenSSL-encrypted
PEM), DER, and PKCS#12 bundles. Every failure is a :class:`KeyLoadError`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs12

from roleport.crypto.algorithms import REQUEST_ALGORITHM_BY_KEY_TYPE
from roleport.crypto.certificates import Certificate
from roleport.crypto.errors import KeyLoadError

# ML-DSA arrived in cryptography 47 (AWS-LC builds first; class names were spelled
# MlDsa65PrivateKey before MLDSA65PrivateKey). Look both spellings up, and treat a
# missing module or an UnsupportedAlgorithm at generation as "no ML-DSA here".
try:
    from cryptography.hazmat.primitives.asymmetric import mldsa as _mldsa
except ImportError:  # pragma: no cover - depends on the installed cryptography
    _mldsa = None  # type: ignore[assignment]

__all__ = [
    "Pkcs12Bundle",
    "PrivateKey",
    "check_key_matches",
    "generate_private_key",
    "load_pkcs12",
    "load_private_key",
    "mldsa_available",
]

_HASHES: MappingProxyType[str, type[hashes.HashAlgorithm]] = MappingProxyType({
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
    "sha1": hashes.SHA1,
})
_CURVES: MappingProxyType[str, type[ec.EllipticCurve]] = MappingProxyType({
    "secp256r1": ec.SECP256R1, "p-256": ec.SECP256R1, "prime256v1": ec.SECP256R1,
    "secp384r1": ec.SECP384R1, "p-384": ec.SECP384R1,
    "secp521r1": ec.SECP521R1, "p-521": ec.SECP521R1,
    "secp256k1": ec.SECP256K1, "secp224r1": ec.SECP224R1,
})


def mldsa_available() -> bool:
    """True when the installed ``cryptography`` supports ML-DSA."""
    return _mldsa is not None


def _mldsa_class(level: str, kind: str) -> Any:
    """``MLDSA{level}{kind}`` from the installed cryptography (either spelling), or None."""
    if _mldsa is None:
        return None
    for prefix in ("MLDSA", "MlDsa"):
        found = getattr(_mldsa, f"{prefix}{level}{kind}", None)
        if found is not None:
            return found
    return None


def _mldsa_variant(key: object) -> str | None:
    for level in ("44", "65", "87"):
        classes = tuple(c for c in (_mldsa_class(level, "PrivateKey"),
                                    _mldsa_class(level, "PublicKey")) if c is not None)
        if classes and isinstance(key, classes):
            return f"ML-DSA-{level}"
    return None


def _spki(public_key: Any) -> bytes:
    return bytes(public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ))


class PrivateKey:
    """A private key able to sign CreateSession requests (immutable)."""

    __slots__ = ("_key", "_key_type", "_mldsa_variant")

    def __init__(self, key: Any) -> None:
        """Wrap a ``cryptography`` private key (internal to :mod:`roleport.crypto`)."""
        self._key = key
        self._mldsa_variant = _mldsa_variant(key)
        if isinstance(key, rsa.RSAPrivateKey):
            self._key_type = "RSA"
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            self._key_type = "EC"
        elif self._mldsa_variant is not None:
            self._key_type = "ML-DSA"
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            self._key_type = "Ed25519"
        else:
            raise KeyLoadError(f"unsupported private key type {type(key).__name__}")

    def __repr__(self) -> str:
        size = f"{self.key_size} bits" if self._key_type == "RSA" else None
        detail = self.curve or self._mldsa_variant or size
        return f"PrivateKey({self._key_type}{' ' + detail if detail else ''})"

    @property
    def key_type(self) -> str:
        """``"RSA"``, ``"EC"``, ``"ML-DSA"`` or ``"Ed25519"`` (the last only for tests)."""
        return self._key_type

    @property
    def key_size(self) -> int | None:
        """RSA modulus bits or EC curve bits; ``None`` otherwise."""
        if isinstance(self._key, rsa.RSAPrivateKey):
            return int(self._key.key_size)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return int(self._key.curve.key_size)
        return None

    @property
    def curve(self) -> str | None:
        """EC curve name (``"secp256r1"``), else ``None``."""
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return str(self._key.curve.name)
        return None

    @property
    def mldsa_variant(self) -> str | None:
        """``"ML-DSA-44"``/``-65``/``-87`` for ML-DSA keys, else ``None``."""
        return self._mldsa_variant

    @property
    def algorithm(self) -> str:
        """The CreateSession ``Algorithm`` a client declares for this key."""
        try:
            return REQUEST_ALGORITHM_BY_KEY_TYPE[self._key_type]
        except KeyError:
            raise KeyLoadError(
                f"{self._key_type} keys cannot sign CreateSession requests: use RSA, EC or ML-DSA"
            ) from None

    def sign(self, data: bytes) -> bytes:
        """The signature a standard CreateSession client sends for ``data``."""
        if self._key_type == "RSA":
            return bytes(self._key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
        if self._key_type == "EC":
            return bytes(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
        if self._key_type == "ML-DSA":
            return bytes(self._key.sign(data))
        raise KeyLoadError(
            f"{self._key_type} keys cannot sign CreateSession requests: use RSA, EC or ML-DSA"
        )

    def sign_as(self, data: bytes, *, hash: str = "sha256", rsa_pss: bool = False,
                pss_salt: str | int = "max", ecdsa_raw: bool = False) -> bytes:
        """A deviant signature, as some real clients send (for tests of leniency).

        ``rsa_pss``: RSA-PSS with MGF1 and salt length ``"max"`` (the ``iamra`` client),
        ``"digest"`` or a number of bytes. ``ecdsa_raw``: fixed-width ``r||s`` instead of DER.
        ``hash``: the digest (``"sha384"``...) instead of SHA-256.
        """
        try:
            algorithm = _HASHES[hash]()
        except KeyError:
            raise ValueError(f"unknown hash {hash!r}") from None
        if self._key_type == "RSA":
            if not rsa_pss:
                return bytes(self._key.sign(data, padding.PKCS1v15(), algorithm))
            salt: Any = pss_salt
            if isinstance(pss_salt, str):
                named = {"max": padding.PSS.MAX_LENGTH, "digest": padding.PSS.DIGEST_LENGTH}
                if pss_salt not in named:
                    raise ValueError(f"unknown PSS salt length {pss_salt!r}")
                salt = named[pss_salt]
            return bytes(self._key.sign(
                data, padding.PSS(padding.MGF1(algorithm), salt), algorithm
            ))
        if self._key_type == "EC":
            der = self._key.sign(data, ec.ECDSA(algorithm))
            if not ecdsa_raw:
                return bytes(der)
            r, s = utils.decode_dss_signature(der)
            width = (self._key.curve.key_size + 7) // 8
            return r.to_bytes(width, "big") + s.to_bytes(width, "big")
        if self._key_type in ("ML-DSA", "Ed25519"):
            return bytes(self._key.sign(data))
        raise AssertionError("unreachable")

    @property
    def public_key_spki(self) -> bytes:
        """DER SubjectPublicKeyInfo of the public half."""
        return _spki(self._key.public_key())

    def public_key_matches(self, cert: Certificate) -> bool:
        """True when ``cert`` certifies this key's public half."""
        try:
            return _spki(cert._x509.public_key()) == self.public_key_spki
        except (UnsupportedAlgorithm, ValueError):
            return False

    def to_pem(self, password: str | bytes | None = None, *, traditional: bool = False) -> str:
        """PKCS#8 PEM, encrypted with ``password`` when given.

        ``traditional=True`` writes PKCS#1 (RSA) / SEC1 (EC) instead, as older tools do.
        """
        if traditional and self._key_type not in ("RSA", "EC"):
            raise KeyLoadError(f"{self._key_type} keys have no traditional PEM format")
        fmt = (serialization.PrivateFormat.TraditionalOpenSSL if traditional
               else serialization.PrivateFormat.PKCS8)
        encryption: serialization.KeySerializationEncryption = (
            serialization.NoEncryption() if password is None
            else serialization.BestAvailableEncryption(_as_bytes(password))
        )
        return bytes(self._key.private_bytes(serialization.Encoding.PEM, fmt, encryption)).decode()

    def to_der(self) -> bytes:
        """Unencrypted PKCS#8 DER."""
        return bytes(self._key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))

    def to_pkcs12(self, cert: Certificate, chain: list[Certificate] | tuple[Certificate, ...] = (),
                  *, password: str | bytes | None = None, name: str = "roleport") -> bytes:
        """A PKCS#12 bundle of this key, ``cert`` and ``chain`` (not for ML-DSA keys)."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.NoEncryption() if password is None
            else serialization.BestAvailableEncryption(_as_bytes(password))
        )
        try:
            return bytes(pkcs12.serialize_key_and_certificates(
                name.encode(), self._key, cert._x509, [c._x509 for c in chain] or None,
                encryption,
            ))
        except (TypeError, ValueError, UnsupportedAlgorithm) as exc:
            raise KeyLoadError(f"cannot write a PKCS#12 bundle for this key: {exc}") from exc


def _as_bytes(password: str | bytes) -> bytes:
    return password.encode("utf-8") if isinstance(password, str) else password


def generate_private_key(key_type: str = "ec", *, curve: str = "secp256r1", key_size: int = 2048,
                         mldsa_variant: str = "ML-DSA-65") -> PrivateKey:
    """A fresh key: ``key_type`` ``"ec"`` (``curve``), ``"rsa"`` (``key_size`` bits),
    ``"mldsa"`` (``mldsa_variant``) or ``"ed25519"``."""
    kind = key_type.lower().replace("-", "")
    if kind == "ec":
        try:
            curve_type = _CURVES[curve.lower()]
        except KeyError:
            raise KeyLoadError(f"unknown EC curve {curve!r}") from None
        return PrivateKey(ec.generate_private_key(curve_type()))
    if kind == "rsa":
        try:
            return PrivateKey(rsa.generate_private_key(public_exponent=65537, key_size=key_size))
        except ValueError as exc:
            raise KeyLoadError(f"cannot generate an RSA key of {key_size} bits: {exc}") from exc
    if kind == "mldsa":
        if _mldsa is None:
            raise KeyLoadError("ML-DSA needs cryptography 47 or later")
        level = mldsa_variant.upper().removeprefix("ML-DSA-").removeprefix("MLDSA")
        key_class = _mldsa_class(level, "PrivateKey")
        if key_class is None:
            raise KeyLoadError(f"unknown ML-DSA variant {mldsa_variant!r}")
        try:
            return PrivateKey(key_class.generate())
        except UnsupportedAlgorithm as exc:
            raise KeyLoadError(f"{mldsa_variant} is not supported by this cryptography "
                               f"build: {exc}") from exc
    if kind == "ed25519":
        return PrivateKey(ed25519.Ed25519PrivateKey.generate())
    raise KeyLoadError(f"unknown key type {key_type!r}: use ec, rsa or mldsa")


def load_private_key(data: str | bytes, password: str | bytes | None = None) -> PrivateKey:
    """Load a private key from PEM (any common format, encrypted or not) or DER.

    A password given for an unencrypted key is ignored. Raises KeyLoadError for a
    missing or wrong passphrase, or data that is not a private key.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    secret = None if password is None else _as_bytes(password)
    is_pem = b"-----BEGIN" in raw
    loader = serialization.load_pem_private_key if is_pem else serialization.load_der_private_key
    try:
        try:
            key = loader(raw, secret)
        except TypeError as exc:
            if secret is not None and "not encrypted" in str(exc):
                key = loader(raw, None)
            else:
                raise
    except TypeError as exc:  # cryptography signals a missing password with TypeError
        if "encrypted" in str(exc):
            raise KeyLoadError("private key is encrypted: a passphrase is required") from exc
        raise KeyLoadError(f"private key could not be loaded: {exc}") from exc
    except ValueError as exc:
        if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise KeyLoadError("private key could not be decrypted: wrong passphrase") from exc
        raise KeyLoadError(
            "data is not a private key (expected PEM or DER: PKCS#1, SEC1 or PKCS#8)"
        ) from exc
    except UnsupportedAlgorithm as exc:
        raise KeyLoadError(f"private key type is not supported: {exc}") from exc
    return PrivateKey(key)


class Pkcs12Bundle:
    """What a PKCS#12 file holds: the key, its certificate and any further certificates."""

    __slots__ = ("certificate", "chain", "key")

    def __init__(self, key: PrivateKey, certificate: Certificate | None,
                 chain: list[Certificate]) -> None:
        self.key = key
        self.certificate = certificate
        self.chain = chain


def load_pkcs12(data: bytes, password: str | bytes | None = None) -> Pkcs12Bundle:
    """Open a PKCS#12 bundle (with or without a password). Raises KeyLoadError."""
    secret = None if password is None else _as_bytes(password)
    attempts = [secret] if secret is None else [secret, None]  # tolerate a needless password
    error: Exception | None = None
    for attempt in attempts:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(bytes(data), attempt)
            break
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            error = exc
    else:
        detail = "wrong passphrase, or not a PKCS#12 file" if secret is not None else \
            "not a PKCS#12 file, or it needs a passphrase"
        raise KeyLoadError(f"PKCS#12 bundle could not be opened: {detail}") from error
    if key is None:
        raise KeyLoadError("PKCS#12 bundle holds no private key")
    return Pkcs12Bundle(
        PrivateKey(key),
        Certificate(cert) if cert is not None else None,
        [Certificate(c) for c in extra],
    )


def check_key_matches(key: PrivateKey, cert: Certificate) -> None:
    """Raise KeyLoadError unless ``key`` is the private half of ``cert``'s public key."""
    if not key.public_key_matches(cert):
        which = cert.subject_dn or f"serial {cert.serial_hex}"
        raise KeyLoadError(f"private key does not match certificate {which}")
