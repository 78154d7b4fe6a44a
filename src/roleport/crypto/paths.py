"""Certification path validation for CreateSession, and the revocation check.

:func:`validate_path` links a signing certificate to a CA of the trust anchor through the
intermediates the client sent (``X-Amz-X509-Chain``), which may come in any order, hold
duplicates, the leaf itself, the root, or unrelated certificates.

How it decides
    The path is built and verified by ``cryptography.x509.verification`` (RFC 5280 path
    building; signatures; validity of every certificate; basicConstraints, pathLen and
    keyCertSign of every CA; only SHA-256-or-stronger, ML-DSA signature algorithms). Its
    CA profile is the Web PKI one, which matches AWS's CA rules. Its end-entity profile is
    *not* used: it refuses CN-only leaves (no subjectAltName) and leaves without an
    authorityKeyIdentifier, both valid for Roles Anywhere; the end-entity policy here
    permits any extensions, and :func:`~roleport.crypto.certificates.check_end_entity_certificate`
    applies AWS's leaf rules. The trust anchor may be a root or an intermediate CA.

How it explains
    The verifier's own messages are terse internals. When it refuses a path, a small
    RFC 5280 path search of our own (:func:`_diagnose`) walks the same certificates and
    names the first rule broken and the certificate breaking it: "certificate has expired
    (CN=Issuing CA, notAfter ...)", "no path to a CA certificate of the trust anchor: ...",
    "chain longer than 5 intermediate certificates". It never *accepts* anything.

``max_chain`` counts intermediates: the certificates strictly between the leaf and the
trust anchor's CA (a leaf issued directly by the anchor has 0). Counting the certificates
of the ``X-Amz-X509-Chain`` header, which may include the root, is the auth layer's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import pairwise

from cryptography.x509 import verification

from roleport.crypto.algorithms import describe_signature_algorithm, signature_weakness
from roleport.crypto.certificates import Certificate
from roleport.crypto.crls import Crl
from roleport.crypto.errors import PathValidationError

__all__ = ["DEFAULT_MAX_CHAIN", "TrustStore", "check_not_revoked", "validate_path"]

DEFAULT_MAX_CHAIN = 5


class TrustStore:
    """The CA certificates of one trust anchor, ready for path validation.

    Immutable; build it once per trust-anchor version and reuse it for every request
    (equal stores compare and hash equal, so it can key a cache).
    """

    __slots__ = ("_anchors", "_store")

    def __init__(self, anchors: Iterable[Certificate]) -> None:
        self._anchors: tuple[Certificate, ...] = tuple(dict.fromkeys(anchors))
        self._store = (
            verification.Store([a._x509 for a in self._anchors]) if self._anchors else None
        )

    @property
    def anchors(self) -> tuple[Certificate, ...]:
        """The CA certificates, in the order given (duplicates removed)."""
        return self._anchors

    def __contains__(self, cert: object) -> bool:
        return cert in self._anchors

    def __len__(self) -> int:
        return len(self._anchors)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrustStore) and set(other._anchors) == set(self._anchors)

    def __hash__(self) -> int:
        return hash(frozenset(self._anchors))

    def __repr__(self) -> str:
        return f"TrustStore({', '.join(a.subject_dn for a in self._anchors)})"


def validate_path(leaf: Certificate, intermediates: Sequence[Certificate], store: TrustStore,
                  now: datetime, *, max_chain: int = DEFAULT_MAX_CHAIN) -> list[Certificate]:
    """The validated path ``[leaf, intermediate..., anchor CA]``, or PathValidationError.

    ``intermediates`` are untrusted candidates in any order. ``now`` must be aware.
    Does not apply the end-entity profile (keyUsage, key size...) to ``leaf``: call
    :func:`~roleport.crypto.certificates.check_end_entity_certificate` for that.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if max_chain < 0:
        raise ValueError("max_chain must not be negative")
    if store._store is None:
        raise PathValidationError("the trust anchor has no CA certificate")
    if leaf in store:
        raise PathValidationError(
            f"the signing certificate is itself a CA certificate of the trust anchor "
            f"({_name(leaf)})"
        )
    pool = [c for c in _candidates(leaf, intermediates) if c not in store]
    problem = leaf.validity_problem(now)
    if problem is not None:
        raise PathValidationError(_about(leaf, problem))

    verifier = (
        verification.PolicyBuilder()
        .store(store._store)
        .time(now.astimezone(UTC))
        .max_chain_depth(max_chain)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=verification.ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(leaf._x509, [c._x509 for c in pool])
    except verification.VerificationError as exc:
        raise _diagnose(leaf, pool, store, now, max_chain, detail=str(exc)) from None

    by_der = {c._x509: c for c in (leaf, *pool, *store.anchors)}
    chain = [by_der[c] for c in verified.chain]
    _recheck(chain, now)  # our own rules too, in case a future verifier is laxer
    return chain


def check_not_revoked(chain: Sequence[Certificate], crls: Iterable[Crl]) -> None:
    """Refuse the chain if a CRL revokes any certificate in it.

    A CRL covers a certificate when the CRL's issuer name is that certificate's issuer
    name (the CRLs were verified against the trust anchor's CAs when imported). Raises
    PathValidationError("certificate serial N is revoked by CRL issued by ...").
    """
    crl_list = list(crls)
    for cert in chain:
        for crl in crl_list:
            if crl.is_issued_by_name_of(cert) and crl.is_revoked(cert.serial):
                raise PathValidationError(
                    f"certificate serial {cert.serial} is revoked by CRL issued by "
                    f"{crl.issuer_dn} ({_name(cert)})"
                )


# -- helpers ------------------------------------------------------------------------------


def _candidates(leaf: Certificate, intermediates: Iterable[Certificate]) -> list[Certificate]:
    """Intermediates without duplicates and without the leaf, in the order received."""
    return [c for c in dict.fromkeys(intermediates) if c != leaf]


def _name(cert: Certificate) -> str:
    return cert.subject_dn or f"serial {cert.serial_hex}"


def _about(cert: Certificate, problem: str) -> str:
    """'certificate has expired: notAfter ...' -> 'certificate has expired (CN=x, notAfter ...)'."""
    head, _, detail = problem.partition(": ")
    return f"{head} ({_name(cert)}{', ' + detail if detail else ''})"


def _ca_problem(issuer: Certificate, now: datetime) -> str | None:
    """Why ``issuer`` cannot issue certificates in a path at ``now``, or None."""
    if issuer.version != 3:
        return (f"CA certificate is X.509 version {issuer.version}: version 3 required "
                f"({_name(issuer)})")
    if not issuer.is_ca:
        return f"issuer is not a CA: basicConstraints CA must be true ({_name(issuer)})"
    if not issuer.allows_key_usage("key_cert_sign"):
        return f"CA certificate keyUsage must include keyCertSign ({_name(issuer)})"
    problem = issuer.validity_problem(now)
    return _about(issuer, problem) if problem else None


def _link_problem(child: Certificate, issuer: Certificate, below: int,
                  now: datetime) -> str | None:
    """Why ``issuer`` cannot vouch for ``child`` (signature assumed checked), or None.

    ``below`` counts the non-self-issued intermediates under ``issuer`` in the path.
    """
    weakness = signature_weakness(child.signature_algorithm_oid, child.signature_hash)
    if weakness is not None:
        return f"certificate {weakness} ({_name(child)})"
    problem = _ca_problem(issuer, now)
    if problem is not None:
        return problem
    if issuer.path_length is not None and below > issuer.path_length:
        return (f"path length constraint violated: {_name(issuer)} allows "
                f"{issuer.path_length} intermediate(s) below it, the path has {below}")
    return None


def _recheck(chain: list[Certificate], now: datetime) -> None:
    below = 0  # non-self-issued intermediates under the current issuer
    for index, (child, issuer) in enumerate(pairwise(chain)):
        if index > 0 and not child.is_self_issued:
            below += 1
        problem = _link_problem(child, issuer, below, now)
        if problem is not None:
            raise PathValidationError(problem)


#: how many certificates the diagnosis may visit: the pool is small (the auth layer caps
#: the chain header), this bounds the search even for maliciously cross-signed bundles
_DIAGNOSIS_BUDGET = 256


class _Diagnosis:
    """An RFC 5280 path search over the same certificates, to explain a refusal.

    Records the failure found deepest in a path (closest to the anchor: the most telling)
    and the length of the shortest path our rules accept.
    """

    def __init__(self, pool: list[Certificate], store: TrustStore, now: datetime) -> None:
        self.pool, self.store, self.now = pool, store, now
        self.budget = _DIAGNOSIS_BUDGET
        self.depth, self.reason = -1, ""
        self.shortest: int | None = None
        self._signed: dict[tuple[Certificate, Certificate], bool] = {}

    def fail(self, depth: int, reason: str) -> None:
        if depth > self.depth:
            self.depth, self.reason = depth, reason

    def signed(self, child: Certificate, issuer: Certificate) -> bool:
        key = (child, issuer)
        if key not in self._signed:
            self._signed[key] = child.is_issued_by(issuer)
        return self._signed[key]

    def walk(self, path: list[Certificate]) -> None:
        if self.budget <= 0:
            return
        self.budget -= 1
        current, depth = path[-1], len(path) - 1
        below = sum(1 for c in path[1:] if not c.is_self_issued)
        named = [a for a in self.store.anchors
                 if a._subject_name_der == current._issuer_name_der]
        issuers = [c for c in self.pool if c not in path
                   and c._subject_name_der == current._issuer_name_der]
        if not named and not issuers:
            self.fail(depth, f"no path to a CA certificate of the trust anchor: no certificate "
                             f"named {current.issuer_dn or '(empty name)'} to verify "
                             f"{_name(current)}")
        for issuer in [*named, *issuers]:
            if not self.signed(current, issuer):
                self.fail(depth, f"no path to a CA certificate of the trust anchor: the "
                                 f"signature of {_name(current)} does not verify with the "
                                 f"key of {_name(issuer)}")
                continue
            problem = _link_problem(current, issuer, below, self.now)
            if problem is not None:
                self.fail(depth + 1, problem)
            elif issuer in self.store:
                self.shortest = depth if self.shortest is None else min(self.shortest, depth)
            else:
                self.walk([*path, issuer])


def _diagnose(leaf: Certificate, pool: list[Certificate], store: TrustStore, now: datetime,
              max_chain: int, *, detail: str) -> PathValidationError:
    """Explain, in our words, why the verifier found no acceptable path."""
    diagnosis = _Diagnosis(pool, store, now)
    diagnosis.walk([leaf])
    if diagnosis.shortest is not None and diagnosis.shortest > max_chain:
        return PathValidationError(
            f"chain longer than {max_chain} intermediate certificates "
            f"(the shortest path to the trust anchor has {diagnosis.shortest})"
        )
    if diagnosis.shortest is None and diagnosis.reason:
        return PathValidationError(diagnosis.reason)
    # Our rules accept a path the verifier refuses (a weak CA key, a forbidden algorithm,
    # a name constraint...), or the search ran out of budget: give the verifier's reason.
    return PathValidationError("certificate path rejected by the verifier",
                               detail=_clean(detail))


_ALGORITHM_DEBUG = re.compile(
    r"AlgorithmIdentifier \{.*?params: (?:Other\(ObjectIdentifier \{ oid: (?P<oid>[\d.]+) \}"
    r".*?\)|(?P<name>\w+)).*?\}"
)


def _clean(message: str) -> str:
    """The verifier's message without its Rust internals."""
    text = message.removeprefix("validation failed: ").removeprefix("candidates exhausted: ")
    text = text.split(" (encountered processing", 1)[0]
    return _ALGORITHM_DEBUG.sub(
        lambda m: describe_signature_algorithm(m["oid"]) if m["oid"] else m["name"], text
    )
