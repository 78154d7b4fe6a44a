"""Signers: one interface for every place a client's private key can live.

A :class:`Signer` holds a certificate, the intermediates to send with it, and a private
key it can sign with; the key itself may never leave its store. One implementation per
key source, as in the official helper:

* :class:`FileSigner`: PEM or DER files (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8); RSA,
  EC and ML-DSA. It notices when the files change (certificate rotation) and reloads them.
* :class:`Pkcs12Signer`: a PKCS#12 bundle, with or without a password, any encryption
  ``cryptography`` reads (the Go helper reads only SHA1/3DES without a password).
* :class:`~roleport.client.pkcs11.Pkcs11Signer`: a key on a PKCS#11 token (RFC 7512 URI),
  with the certificate on the token or in a file.

:func:`open_signer` picks the implementation from the helper's flags, the way the Go
helper's ``GetSigner`` does, except that it never falls back to an OS certificate store:
a missing ``--certificate`` is an error that says so (Go issues #96 and #151).

What goes in ``X-Amz-X509-Chain`` (:func:`build_chain`): the intermediates that link the
leaf towards its root, in issuer order, without the leaf, self-signed roots, duplicates
or unrelated certificates, at most five (the Go helper sends bundles in file order, may
include the leaf and the root, and with PKCS#11 sends unrelated token certificates).
"""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from roleport.client.errors import ConfigurationError, SignerError
from roleport.crypto.algorithms import REQUEST_ALGORITHM_BY_KEY_TYPE
from roleport.crypto.certificates import Certificate, load_der, load_pem_bundle
from roleport.crypto.errors import CryptoError, KeyLoadError
from roleport.crypto.keys import PrivateKey, load_pkcs12, load_private_key

__all__ = [
    "MAX_CHAIN",
    "FileSigner",
    "PasswordPrompt",
    "Pkcs12Signer",
    "Signer",
    "build_chain",
    "open_signer",
    "read_certificates",
]

#: AWS: the chain "MUST NOT exceed the maximum depth of 5 certificates"
MAX_CHAIN = 5
#: asks a person for a secret; returns None when nobody can be asked
PasswordPrompt = Callable[[str], str | None]

_KEY_BLOCK = re.compile(
    rb"-----BEGIN (?P<kind>(?:ENCRYPTED |RSA |EC |TSS2 )?PRIVATE KEY)-----.*?"
    rb"-----END (?P=kind)-----", re.DOTALL)
_DIGESTS = ("sha256", "sha384", "sha512")


class Signer(ABC):
    """A certificate and the private key that signs for it.

    ``sign(data, digest)`` returns the signature a CreateSession client sends: RSA
    PKCS#1 v1.5, ECDSA as DER, or ML-DSA (which ignores ``digest``). ``refresh()`` lets a
    long-running process pick up rotated files; ``lock`` serializes refresh and use.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()

    @property
    @abstractmethod
    def certificate(self) -> Certificate:
        """The end-entity certificate (``X-Amz-X509``)."""

    @property
    @abstractmethod
    def chain(self) -> list[Certificate]:
        """The intermediates to send (``X-Amz-X509-Chain``), issuer first."""

    @abstractmethod
    def sign(self, data: bytes, digest: str = "sha256") -> bytes:
        """Sign ``data`` (hashing it with ``digest`` where the algorithm hashes)."""

    @property
    def algorithm(self) -> str:
        """The ``Authorization`` algorithm name for this certificate's key."""
        key_type = self.certificate.key_type
        try:
            return REQUEST_ALGORITHM_BY_KEY_TYPE[key_type]
        except KeyError:
            raise SignerError(f"{key_type} keys cannot sign Roles Anywhere requests: use an "
                              f"RSA, EC or ML-DSA certificate") from None

    def refresh(self) -> None:  # noqa: B027 - a hook: most signers have nothing to reload
        """Reload the key material if its source changed (default: nothing to do)."""

    def close(self) -> None:  # noqa: B027 - a hook: most signers hold nothing open
        """Release the key store (sessions, handles)."""

    def describe(self) -> str:
        """A one-line description for messages (never a secret)."""
        cert = self.certificate
        return f"{cert.subject_dn or 'serial ' + cert.serial_hex} ({cert.key_type})"

    def check_valid(self, now: datetime | None = None) -> None:
        """Raise SignerError if the certificate is expired or not yet valid."""
        problem = self.certificate.validity_problem(now or datetime.now(UTC))
        if problem:
            raise SignerError(f"{self.describe()}: {problem}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- helpers ------------------------------------------------------------------------------


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SignerError(f"{what} file {path} does not exist") from None
    except IsADirectoryError:
        raise SignerError(f"{what} file {path} is a directory") from None
    except OSError as exc:
        raise SignerError(f"cannot read {what} file {path}: {exc.strerror}") from None


def read_certificates(path: str | os.PathLike[str], what: str = "certificate") -> list[Certificate]:
    """Every certificate of a PEM bundle (or the one DER certificate) at ``path``."""
    data = _read(path, what)
    try:
        if b"-----BEGIN" in data:
            return load_pem_bundle(data)
        return [load_der(data)]
    except CryptoError as exc:
        raise SignerError(f"{what} file {path}: {exc.full}") from None


def _check_digest(digest: str) -> str:
    name = digest.lower().replace("-", "")
    if name not in _DIGESTS:
        raise ConfigurationError(f"unsupported digest {digest!r}: use SHA256, SHA384 or SHA512")
    return name


def build_chain(leaf: Certificate, candidates: Iterable[Certificate]) -> list[Certificate]:
    """The certificates of ``candidates`` that certify ``leaf``, issuer first, at most 5.

    Duplicates, the leaf itself, self-issued roots and certificates that are not on the
    leaf's path are left out. Raises SignerError when the path is longer than five.
    """
    pool: list[Certificate] = []
    for cert in candidates:
        if cert == leaf or cert in pool or cert.is_self_issued:
            continue
        pool.append(cert)
    chain: list[Certificate] = []
    current = leaf
    while True:
        issuer = next((c for c in pool if c not in chain and current.is_issued_by(c)), None)
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    if len(chain) > MAX_CHAIN:
        raise SignerError(f"the certificate chain holds {len(chain)} intermediates; Roles "
                          f"Anywhere accepts at most {MAX_CHAIN}")
    return chain


def _key_blocks(data: bytes) -> list[bytes]:
    return [m.group(0) for m in _KEY_BLOCK.finditer(data)]


def _load_key(data: bytes, source: str, password: str | None,
              prompt: PasswordPrompt | None) -> tuple[PrivateKey, str | None]:
    """Load a private key (PEM block found anywhere in ``data``, or DER); return it and
    the passphrase that opened it."""
    blocks = _key_blocks(data)
    if blocks and b"TSS2 PRIVATE KEY" in blocks[0]:
        raise SignerError(f"{source} is a TPM 2.0 key (TSS2 PRIVATE KEY); roleport-signing-"
                          f"helper does not support TPM keys: use a PEM, PKCS#12 or PKCS#11 key")
    if b"-----BEGIN" in data and not blocks:
        raise SignerError(f"{source} holds no private key (expected a PEM PRIVATE KEY block)")
    raw = blocks[0] if blocks else data
    encrypted = raw.startswith(b"-----BEGIN ENCRYPTED") or b"Proc-Type: 4,ENCRYPTED" in raw
    if encrypted and password is None and prompt is not None:
        password = prompt(f"Enter the passphrase of {source}: ")
    if encrypted and password is None:
        raise SignerError(f"{source} is encrypted: give its passphrase with --pkcs8-password "
                          f"or the ROLEPORT_PKCS8_PASSWORD environment variable")
    try:
        key = load_private_key(raw, password if encrypted else None)
    except KeyLoadError as exc:
        if "wrong passphrase" in exc.message:
            raise SignerError(f"{source}: wrong passphrase (the key could not be "
                              f"decrypted)") from None
        raise SignerError(f"{source}: {exc.message}") from None
    if key.key_type not in REQUEST_ALGORITHM_BY_KEY_TYPE:
        raise SignerError(f"{source}: {key.key_type} keys cannot sign Roles Anywhere "
                          f"requests: use RSA, EC or ML-DSA")
    return key, password


def _pick_leaf(key: PrivateKey, certs: Sequence[Certificate], source: str) -> Certificate:
    """The certificate of ``certs`` that certifies ``key``; SignerError if none does."""
    for cert in certs:
        if key.public_key_matches(cert):
            return cert
    first = certs[0]
    which = first.subject_dn or f"serial {first.serial_hex}"
    more = f" (nor do the {len(certs) - 1} other certificates in it)" if len(certs) > 1 else ""
    raise SignerError(f"the private key does not match the certificate {which} in "
                      f"{source}{more}: check that --private-key and --certificate belong "
                      f"together")


def _sign_with(key: PrivateKey, data: bytes, digest: str) -> bytes:
    name = _check_digest(digest)
    if name == "sha256" or key.key_type == "ML-DSA":
        return key.sign(data)
    return key.sign_as(data, hash=name)


# -- files --------------------------------------------------------------------------------


class FileSigner(Signer):
    """Certificate and key in files (PEM or DER). Reloads them when they change."""

    def __init__(self, certificate: str | os.PathLike[str], private_key: str | os.PathLike[str],
                 intermediates: str | os.PathLike[str] | None = None, *,
                 password: str | None = None, prompt: PasswordPrompt | None = None) -> None:
        super().__init__()
        self.certificate_path = Path(certificate)
        self.private_key_path = Path(private_key)
        self.intermediates_path = Path(intermediates) if intermediates else None
        self._password = password
        self._prompt = prompt
        self._stamp: tuple[object, ...] = ()
        self._state: tuple[Certificate, list[Certificate], PrivateKey] | None = None
        self._load()

    def __repr__(self) -> str:
        return f"FileSigner({str(self.certificate_path)!r}, {str(self.private_key_path)!r})"

    def _paths(self) -> list[Path]:
        return [p for p in (self.certificate_path, self.private_key_path,
                            self.intermediates_path) if p is not None]

    def _current_stamp(self) -> tuple[object, ...]:
        stamp: list[object] = []
        for path in self._paths():
            try:
                st = path.stat()
                stamp.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stamp.append(None)
        return tuple(stamp)

    def _load(self) -> None:
        stamp = self._current_stamp()
        certs = read_certificates(self.certificate_path)
        key_data = _read(self.private_key_path, "private key")
        key, password = _load_key(key_data, f"private key {self.private_key_path}",
                                  self._password, self._prompt)
        self._password = password  # a prompted passphrase serves the reloads too
        leaf = _pick_leaf(key, certs, str(self.certificate_path))
        extra = [c for c in certs if c != leaf]
        if self.intermediates_path is not None:
            extra += read_certificates(self.intermediates_path, "intermediates")
        self._state = (leaf, build_chain(leaf, extra), key)
        self._stamp = stamp

    def refresh(self) -> None:
        with self.lock:
            if self._current_stamp() != self._stamp:
                self._load()

    @property
    def certificate(self) -> Certificate:
        assert self._state is not None
        return self._state[0]

    @property
    def chain(self) -> list[Certificate]:
        assert self._state is not None
        return list(self._state[1])

    def sign(self, data: bytes, digest: str = "sha256") -> bytes:
        assert self._state is not None
        return _sign_with(self._state[2], data, digest)


# -- PKCS#12 ------------------------------------------------------------------------------


class Pkcs12Signer(Signer):
    """A PKCS#12 bundle (``.p12``/``.pfx``): key, certificate and chain in one file."""

    def __init__(self, path: str | os.PathLike[str], *, password: str | None = None,
                 intermediates: str | os.PathLike[str] | None = None,
                 prompt: PasswordPrompt | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        data = _read(self.path, "PKCS#12")
        try:
            bundle = load_pkcs12(data, password)
        except KeyLoadError:
            if password is None and prompt is not None:
                password = prompt(f"Enter the password of {self.path}: ")
            if password is None:
                raise SignerError(
                    f"{self.path} is not a PKCS#12 bundle, or it is protected: give its "
                    f"password with --pkcs12-password or ROLEPORT_PKCS12_PASSWORD") from None
            try:
                bundle = load_pkcs12(data, password)
            except KeyLoadError:
                raise SignerError(f"{self.path}: wrong PKCS#12 password, or not a PKCS#12 "
                                  f"file") from None
        certs = ([bundle.certificate] if bundle.certificate else []) + list(bundle.chain)
        if not certs:
            raise SignerError(f"{self.path} holds no certificate")
        self._key = bundle.key
        if self._key.key_type not in REQUEST_ALGORITHM_BY_KEY_TYPE:
            raise SignerError(f"{self.path}: {self._key.key_type} keys cannot sign Roles "
                              f"Anywhere requests")
        self._leaf = _pick_leaf(self._key, certs, str(self.path))
        extra = [c for c in certs if c != self._leaf]
        if intermediates:
            extra += read_certificates(intermediates, "intermediates")
        self._chain = build_chain(self._leaf, extra)

    def __repr__(self) -> str:
        return f"Pkcs12Signer({str(self.path)!r})"

    @property
    def certificate(self) -> Certificate:
        return self._leaf

    @property
    def chain(self) -> list[Certificate]:
        return list(self._chain)

    def sign(self, data: bytes, digest: str = "sha256") -> bytes:
        return _sign_with(self._key, data, digest)


# -- choosing -----------------------------------------------------------------------------


def _is_pkcs11(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith("pkcs11:")


def open_signer(*, certificate: str | None, private_key: str | None = None,
                intermediates: str | None = None, pkcs8_password: str | None = None,
                pkcs12_password: str | None = None, pkcs11_pin: str | None = None,
                pkcs11_lib: str | None = None, reuse_pin: bool = False,
                prompt: PasswordPrompt | None = None) -> Signer:
    """The signer the official helper's flags describe.

    * ``pkcs11:`` URI for the certificate or the key: :class:`Pkcs11Signer` (a file
      certificate with a token key works too);
    * a certificate file without ``private_key``: a PKCS#12 bundle (or a PEM file that
      holds the key too);
    * otherwise: :class:`FileSigner`.

    Raises ConfigurationError for missing flags, SignerError for unusable keys.
    """
    if not certificate and not private_key:
        raise ConfigurationError(
            "no certificate given: pass --certificate (a PEM file, a PKCS#12 bundle or a "
            "pkcs11: URI) and --private-key. roleport-signing-helper never falls back to an "
            "OS certificate store; if this runs from credential_process, check that the "
            "whole command is on one line of ~/.aws/config")
    if _is_pkcs11(certificate) or _is_pkcs11(private_key):
        from roleport.client.pkcs11 import Pkcs11Signer

        return Pkcs11Signer(certificate=certificate, private_key=private_key,
                            intermediates=intermediates, pin=pkcs11_pin, module=pkcs11_lib,
                            reuse_pin=reuse_pin, prompt=prompt)
    if private_key and private_key.startswith("handle:"):
        raise SignerError(f"--private-key {private_key} names a TPM 2.0 persistent handle; "
                          f"roleport-signing-helper does not support TPM keys")
    if not certificate:
        raise ConfigurationError("--private-key needs --certificate (the certificate file), "
                                 "unless the key is a pkcs11: URI")
    if not private_key:
        data = _read(certificate, "certificate")
        if b"-----BEGIN" in data:
            if _key_blocks(data):
                return FileSigner(certificate, certificate, intermediates,
                                  password=pkcs8_password, prompt=prompt)
            raise ConfigurationError(f"--private-key is missing: {certificate} is a PEM "
                                     f"certificate without a private key")
        return Pkcs12Signer(certificate, password=pkcs12_password, intermediates=intermediates,
                            prompt=prompt)
    return FileSigner(certificate, private_key, intermediates, password=pkcs8_password,
                      prompt=prompt)
