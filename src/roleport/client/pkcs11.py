"""PKCS#11 keys (smart cards, YubiKey/PIV, HSMs, SoftHSM) for the signing helper.

Objects are named by RFC 7512 URIs, as in the official helper::

    pkcs11:token=roleport;object=client?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so

* ``--certificate`` may be a ``pkcs11:`` URI or a file (a token key with a file
  certificate); ``--private-key`` may be left out, then the key with the certificate's
  ``CKA_ID`` (or label) is used.
* The PKCS#11 module comes from ``module-path`` in the URI, else ``--pkcs11-lib``,
  else ``p11-kit-proxy.so``.
* The PIN comes from ``--pkcs11-pin`` (or ``ROLEPORT_PKCS11_PIN``), else ``pin-value`` or
  ``pin-source=file:...`` in the URI, else a prompt on the terminal. Keys marked
  ``CKA_ALWAYS_AUTHENTICATE`` need the PIN again for each signature: ``--reuse-pin`` sends
  the same one, otherwise it is asked for.
* Before the first request the helper signs a test string with the token key and checks
  it with the certificate, so a key that does not match is reported at once.
* ``X-Amz-X509-Chain`` is built from the token's other certificates that really issued
  the leaf (the Go helper inverts that test, issue #174, and sends unrelated ones).

Needs the ``python-pkcs11`` package (``pip install 'roleport[pkcs11]'``). RSA and EC keys.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from roleport.client.errors import ConfigurationError, SignerError
from roleport.client.signers import PasswordPrompt, Signer, build_chain, read_certificates
from roleport.crypto.certificates import Certificate, load_der
from roleport.crypto.errors import CryptoError
from roleport.crypto.signatures import verify_request_signature

__all__ = ["DEFAULT_MODULE", "Pkcs11Signer", "Pkcs11Uri", "find_certificates",
           "parse_pkcs11_uri"]

DEFAULT_MODULE = "p11-kit-proxy.so"
_PATH_ATTRIBUTES = frozenset({
    "token", "manufacturer", "serial", "model", "library-manufacturer", "library-description",
    "library-version", "slot-id", "slot-description", "slot-manufacturer", "object", "id",
    "type"})
_QUERY_ATTRIBUTES = frozenset({"pin-value", "pin-source", "module-name", "module-path"})
#: DER DigestInfo prefixes, for tokens that only offer raw CKM_RSA_PKCS
_DIGEST_INFO = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
_TEST_STRING = b"roleport-signing-helper PKCS#11 key check"


@dataclass(frozen=True)
class Pkcs11Uri:
    """An RFC 7512 URI, attributes decoded (``id`` as bytes)."""

    text: str
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    id: bytes | None = None

    @property
    def object(self) -> str | None:
        return self.path.get("object")

    @property
    def type(self) -> str | None:
        return self.path.get("type")


def parse_pkcs11_uri(text: str) -> Pkcs11Uri:
    """Parse ``pkcs11:...``; ConfigurationError for a malformed URI."""
    if not text.lower().startswith("pkcs11:"):
        raise ConfigurationError(f"not a PKCS#11 URI: {text!r}")
    body = text[len("pkcs11:"):]
    path_part, _, query_part = body.partition("?")
    path: dict[str, str] = {}
    query: dict[str, str] = {}
    raw_id: bytes | None = None
    for part, target, allowed, sep in ((path_part, path, _PATH_ATTRIBUTES, ";"),
                                       (query_part, query, _QUERY_ATTRIBUTES, "&")):
        for item in filter(None, part.split(sep)):
            name, eq, value = item.partition("=")
            name = name.strip().lower()
            if not eq:
                raise ConfigurationError(f"PKCS#11 URI attribute {item!r} has no value: {text}")
            if name in target:
                raise ConfigurationError(f"PKCS#11 URI repeats {name!r}: {text}")
            decoded = unquote_to_bytes(value)
            if name == "id":
                raw_id = decoded
            if name not in allowed and not name.startswith("x-"):
                raise ConfigurationError(f"unknown PKCS#11 URI attribute {name!r} in {text}")
            target[name] = decoded.decode("utf-8", "replace")
    return Pkcs11Uri(text, path, query, raw_id)


def _import_pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise SignerError("PKCS#11 keys need the python-pkcs11 package: "
                          "pip install 'roleport[pkcs11]'") from None
    return pkcs11


def _module_path(uris: list[Pkcs11Uri], module: str | None) -> str:
    for uri in uris:
        if uri.query.get("module-path"):
            return uri.query["module-path"]
    if module:
        return module
    for uri in uris:
        if uri.query.get("module-name"):
            return uri.query["module-name"] + ".so"
    return DEFAULT_MODULE


def _uri_pin(uris: list[Pkcs11Uri]) -> str | None:
    for uri in uris:
        if "pin-value" in uri.query:
            return uri.query["pin-value"]
        source = uri.query.get("pin-source")
        if source:
            path = source.removeprefix("file:")
            try:
                return Path(path).read_text().rstrip("\r\n")
            except OSError as exc:
                raise SignerError(f"cannot read the PKCS#11 pin-source {path}: "
                                  f"{exc.strerror}") from None
    return None


def _token_matches(token: Any, slot: Any, uri: Pkcs11Uri) -> bool:
    checks: dict[str, Callable[[], Any]] = {
              "token": lambda: token.label, "manufacturer": lambda: token.manufacturer_id,
              "model": lambda: token.model,
              "serial": lambda: token.serial.decode("ascii", "replace").strip()
              if isinstance(token.serial, bytes) else str(token.serial).strip(),
              "slot-id": lambda: str(slot.slot_id),
              "slot-description": lambda: slot.slot_description,
              "slot-manufacturer": lambda: slot.manufacturer_id}
    for name, read in checks.items():
        if name in uri.path:
            try:
                actual = str(read()).strip()
            except Exception:  # noqa: BLE001 - a module may not implement a field
                return False
            if actual != uri.path[name].strip():
                return False
    return True


def _object_template(pkcs11: Any, uri: Pkcs11Uri | None, object_class: Any) -> dict[Any, Any]:
    template: dict[Any, Any] = {pkcs11.Attribute.CLASS: object_class}
    if uri is not None:
        if uri.object is not None:
            template[pkcs11.Attribute.LABEL] = uri.object
        if uri.id is not None:
            template[pkcs11.Attribute.ID] = uri.id
    return template


def _attribute(obj: Any, attribute: Any, default: Any = None) -> Any:
    try:
        return obj[attribute]
    except Exception:  # noqa: BLE001 - missing or sensitive attribute
        return default


def _object_uri(token: Any, obj: Any, pkcs11: Any, kind: str) -> str:
    from urllib.parse import quote

    parts = [f"token={quote(str(token.label).strip(), safe='')}"]
    label = _attribute(obj, pkcs11.Attribute.LABEL)
    if label:
        parts.append(f"object={quote(str(label), safe='')}")
    raw_id = _attribute(obj, pkcs11.Attribute.ID)
    if raw_id:
        parts.append("id=" + "".join(f"%{b:02x}" for b in raw_id))
    parts.append(f"type={kind}")
    return "pkcs11:" + ";".join(parts)


def _der_ecdsa(raw: bytes) -> bytes:
    """PKCS#11 ``r||s`` -> DER ``SEQUENCE { INTEGER r, INTEGER s }``."""
    half = len(raw) // 2

    def integer(value: bytes) -> bytes:
        value = value.lstrip(b"\x00") or b"\x00"
        if value[0] & 0x80:
            value = b"\x00" + value
        return b"\x02" + _der_length(len(value)) + value

    body = integer(raw[:half]) + integer(raw[half:])
    return b"\x30" + _der_length(len(body)) + body


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    encoded = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


class _Token:
    """A loaded module and an open (logged-in) session on the token that matched."""

    def __init__(self, uris: list[Pkcs11Uri], module: str | None, pin: str | None,
                 prompt: PasswordPrompt | None, find: Any) -> None:
        self.pkcs11 = pkcs11 = _import_pkcs11()
        path = _module_path(uris, module)
        try:
            self.lib = pkcs11.lib(path)
        except Exception as exc:  # noqa: BLE001 - dlopen and C_Initialize failures
            raise SignerError(f"cannot load the PKCS#11 module {path}: {exc or type(exc).__name__}"
                              f" (set it with --pkcs11-lib or module-path= in the URI)") from None
        self.module = path
        self.pin = pin if pin is not None else _uri_pin(uris)
        self.prompt = prompt
        self.session: Any = None
        self.token: Any = None
        candidates = []
        try:
            slots = self.lib.get_slots(token_present=True)
        except Exception as exc:  # noqa: BLE001
            raise SignerError(f"PKCS#11 module {path} lists no slots: {exc}") from None
        for slot in slots:
            try:
                token = slot.get_token()
            except Exception:  # noqa: BLE001, S112 - a slot without a usable token
                continue
            if all(_token_matches(token, slot, uri) for uri in uris):
                candidates.append(token)
        if not candidates:
            wanted = "; ".join(u.text for u in uris)
            raise SignerError(f"no PKCS#11 token matches {wanted} in module {path}")
        problems = []
        for token in candidates:
            session = self._open(token)
            try:
                if find(self, session):
                    self.session, self.token = session, token
                    return
            except SignerError as exc:
                problems.append(exc.message)
            session.close()
        if problems:
            raise SignerError(problems[0])
        wanted = "; ".join(u.text for u in uris)
        raise SignerError(f"no PKCS#11 object matches {wanted} (tokens searched: "
                          f"{', '.join(str(t.label).strip() for t in candidates)})")

    def _open(self, token: Any) -> Any:
        pkcs11 = self.pkcs11
        login_required = bool(token.flags & pkcs11.TokenFlag.LOGIN_REQUIRED)
        pin = self.pin
        if pin is None and login_required and self.prompt is not None:
            pin = self.prompt(f"Enter the PIN of PKCS#11 token {str(token.label).strip()}: ")
            self.pin = pin
        if pin is None and login_required:
            raise SignerError(f"PKCS#11 token {str(token.label).strip()} needs a PIN: give it "
                              f"with --pkcs11-pin, ROLEPORT_PKCS11_PIN or pin-value= in the URI")
        try:
            return token.open(user_pin=pin) if pin is not None else token.open()
        except pkcs11.PinIncorrect:
            raise SignerError(f"wrong PIN for PKCS#11 token {str(token.label).strip()}") from None
        except pkcs11.PinLocked:
            raise SignerError(f"PKCS#11 token {str(token.label).strip()} is locked "
                              f"(too many wrong PINs)") from None
        except pkcs11.PKCS11Error as exc:
            raise SignerError(f"cannot open PKCS#11 token {str(token.label).strip()}: "
                              f"{type(exc).__name__} {exc}") from None

    def objects(self, session: Any, template: dict[Any, Any]) -> Iterator[Any]:
        try:
            yield from session.get_objects(template)
        except self.pkcs11.PKCS11Error as exc:
            raise SignerError(f"PKCS#11 object search failed: {type(exc).__name__} {exc}") \
                from None

    def certificates(self, session: Any, uri: Pkcs11Uri | None) -> list[tuple[Certificate, Any]]:
        found = []
        for obj in self.objects(session, _object_template(
                self.pkcs11, uri, self.pkcs11.ObjectClass.CERTIFICATE)):
            value = _attribute(obj, self.pkcs11.Attribute.VALUE)
            if not value:
                continue
            try:
                found.append((load_der(bytes(value)), obj))
            except CryptoError:
                continue
        return found

    def close(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001, S110 - closing a dead session
                pass
            self.session = None


class Pkcs11Signer(Signer):
    """A key on a PKCS#11 token; the certificate on the token or in a file."""

    def __init__(self, *, certificate: str | None, private_key: str | None = None,
                 intermediates: str | os.PathLike[str] | None = None, pin: str | None = None,
                 module: str | None = None, reuse_pin: bool = False,
                 prompt: PasswordPrompt | None = None) -> None:
        super().__init__()
        cert_uri = parse_pkcs11_uri(certificate) if certificate and \
            certificate.lower().startswith("pkcs11:") else None
        key_uri = parse_pkcs11_uri(private_key) if private_key else None
        if private_key and key_uri is None:
            raise ConfigurationError("with a pkcs11: certificate, --private-key must be a "
                                     "pkcs11: URI too (or left out)")
        file_certs = read_certificates(certificate) if certificate and cert_uri is None else []
        self.reuse_pin = reuse_pin
        self._prompt = prompt
        uris = [u for u in (key_uri, cert_uri) if u is not None]
        self._leaf: Certificate | None = None
        self._key: Any = None
        self._token_certs: list[Certificate] = []
        self._chain: list[Certificate] = []
        self._always_authenticate = False

        def find(token: _Token, session: Any) -> bool:
            return self._find(token, session, cert_uri, key_uri, file_certs)

        self._token = _Token(uris, module, pin, prompt, find)
        assert self._leaf is not None and self._key is not None
        extra = list(self._token_certs) + file_certs[1:]
        if intermediates:
            extra += read_certificates(intermediates, "intermediates")
        self._chain = build_chain(self._leaf, extra)
        self._always_authenticate = bool(_attribute(
            self._key, self._token.pkcs11.Attribute.ALWAYS_AUTHENTICATE, False))
        self._check_key()

    def __repr__(self) -> str:
        return f"Pkcs11Signer(module={self._token.module!r}, key={self.key_uri!r})"

    # -- lookup -------------------------------------------------------------------------

    def _find(self, token: _Token, session: Any, cert_uri: Pkcs11Uri | None,
              key_uri: Pkcs11Uri | None, file_certs: list[Certificate]) -> bool:
        pkcs11 = token.pkcs11
        all_certs = token.certificates(session, None)
        if file_certs:
            leaf, leaf_obj = file_certs[0], None
        else:
            wanted = cert_uri or (Pkcs11Uri(key_uri.text, {k: v for k, v in key_uri.path.items()
                                                          if k != "type"}, {}, key_uri.id)
                                  if key_uri else None)
            certs = token.certificates(session, wanted)
            if not certs:
                return False
            if len(certs) > 1:
                names = ", ".join(c.subject_dn for c, _ in certs)
                raise SignerError(f"{len(certs)} certificates match {wanted.text if wanted else ''}"
                                  f" ({names}): add object= or id= to the URI")
            leaf, leaf_obj = certs[0]
        key_template = _object_template(pkcs11, key_uri or cert_uri, pkcs11.ObjectClass.PRIVATE_KEY)
        if key_uri is None and leaf_obj is not None:
            cert_id = _attribute(leaf_obj, pkcs11.Attribute.ID)
            if cert_id:
                key_template = {pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                                pkcs11.Attribute.ID: bytes(cert_id)}
        keys = list(token.objects(session, key_template))
        if not keys:
            return False
        if len(keys) > 1:
            raise SignerError(f"{len(keys)} private keys match on token "
                              f"{str(token.token.label if token.token else '').strip()}: add "
                              f"object= or id= to the URI")
        self._leaf, self._key = leaf, keys[0]
        self.key_uri = _object_uri(session.token, keys[0], pkcs11, "private")
        self._token_certs = [c for c, _ in all_certs if c != leaf]
        return True

    def _check_key(self) -> None:
        if self.certificate.key_type not in ("RSA", "EC"):
            raise SignerError(f"PKCS#11 signing supports RSA and EC keys, not "
                              f"{self.certificate.key_type}")
        pkcs11 = self._token.pkcs11
        key_type = {pkcs11.KeyType.RSA: "RSA", pkcs11.KeyType.EC: "EC"}.get(
            getattr(self._key, "key_type", None))
        if key_type != self.certificate.key_type:
            raise SignerError(f"the PKCS#11 key {self.key_uri} ({key_type or 'unknown type'}) "
                              f"does not match the certificate {self.describe()}")
        signature = self.sign(_TEST_STRING)
        try:
            verify_request_signature(self.certificate, self.algorithm, _TEST_STRING,
                                     signature.hex(), lenient=False)
        except CryptoError:
            raise SignerError(f"the PKCS#11 key {self.key_uri} does not match the certificate "
                              f"{self.describe()}") from None

    # -- Signer -------------------------------------------------------------------------

    @property
    def certificate(self) -> Certificate:
        assert self._leaf is not None
        return self._leaf

    @property
    def chain(self) -> list[Certificate]:
        return list(self._chain)

    def _context_pin(self) -> str | None:
        if not self._always_authenticate:
            return None
        if self.reuse_pin and self._token.pin is not None:
            return self._token.pin
        if self._prompt is not None:
            pin = self._prompt("Enter the PIN for this signature (CKA_ALWAYS_AUTHENTICATE): ")
            if pin is not None:
                return pin
        raise SignerError("this PKCS#11 key needs its PIN for every signature "
                          "(CKA_ALWAYS_AUTHENTICATE): pass --reuse-pin to send the token PIN")

    def sign(self, data: bytes, digest: str = "sha256") -> bytes:
        pkcs11 = self._token.pkcs11
        name = digest.lower().replace("-", "")
        if name not in _DIGEST_INFO:
            raise ConfigurationError(f"unsupported digest {digest!r}: use SHA256, SHA384 or "
                                     f"SHA512")
        with self.lock:
            pin = self._context_pin()
            kwargs = {"pin": pin} if pin is not None else {}
            try:
                if self.certificate.key_type == "EC":
                    hashed = hashlib.new(name, data).digest()
                    raw = self._key.sign(hashed, mechanism=pkcs11.Mechanism.ECDSA, **kwargs)
                    return _der_ecdsa(bytes(raw))
                mechanism = {"sha256": pkcs11.Mechanism.SHA256_RSA_PKCS,
                             "sha384": pkcs11.Mechanism.SHA384_RSA_PKCS,
                             "sha512": pkcs11.Mechanism.SHA512_RSA_PKCS}[name]
                try:
                    return bytes(self._key.sign(data, mechanism=mechanism, **kwargs))
                except pkcs11.MechanismInvalid:
                    info = _DIGEST_INFO[name] + hashlib.new(name, data).digest()
                    return bytes(self._key.sign(info, mechanism=pkcs11.Mechanism.RSA_PKCS,
                                                **kwargs))
            except pkcs11.PKCS11Error as exc:
                raise SignerError(f"the PKCS#11 token refused to sign: {type(exc).__name__} "
                                  f"{exc}") from None

    def close(self) -> None:
        self._token.close()


def find_certificates(uri: str, *, module: str | None = None, pin: str | None = None,
                      prompt: PasswordPrompt | None = None) -> list[tuple[Certificate, str]]:
    """Certificates on the tokens that match ``uri``, with a URI for each."""
    parsed = parse_pkcs11_uri(uri)
    results: list[tuple[Certificate, str]] = []

    def find(token: _Token, session: Any) -> bool:
        for cert, obj in token.certificates(session, parsed):
            results.append((cert, _object_uri(session.token, obj, token.pkcs11, "cert")))
        return True

    token = _Token([parsed], module, pin, prompt, find)
    token.close()
    return results
