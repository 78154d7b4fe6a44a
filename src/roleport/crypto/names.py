"""Distinguished-name attributes under the short names Roles Anywhere uses.

Roles Anywhere turns each *recognisable* RDN of the Subject, the Issuer and the first
directory-name SAN into a principal tag (``x509Subject/CN``, ``x509Issuer/O``...) and skips
the ones it does not recognise. AWS does not publish its list; its documents and examples
use ``C, O, OU, ST, L, CN`` and ``UID``. :data:`SHORT_NAMES` is that list plus the usual
X.520 / PKCS#9 attributes, under their common OpenSSL spellings. It is the one place to
change if AWS turns out to recognise more or fewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import MappingProxyType

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

__all__ = ["OIDS_BY_SHORT_NAME", "SHORT_NAMES", "build_name", "name_attributes"]

#: dotted OID -> short name, in the order people usually write a DN
SHORT_NAMES: MappingProxyType[str, str] = MappingProxyType({
    NameOID.COUNTRY_NAME.dotted_string: "C",
    NameOID.STATE_OR_PROVINCE_NAME.dotted_string: "ST",
    NameOID.LOCALITY_NAME.dotted_string: "L",
    NameOID.ORGANIZATION_NAME.dotted_string: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string: "OU",
    NameOID.COMMON_NAME.dotted_string: "CN",
    NameOID.USER_ID.dotted_string: "UID",
    NameOID.DOMAIN_COMPONENT.dotted_string: "DC",
    NameOID.EMAIL_ADDRESS.dotted_string: "emailAddress",
    NameOID.SERIAL_NUMBER.dotted_string: "serialNumber",
    NameOID.TITLE.dotted_string: "title",
    NameOID.GIVEN_NAME.dotted_string: "GN",
    NameOID.SURNAME.dotted_string: "SN",
    NameOID.INITIALS.dotted_string: "initials",
    NameOID.PSEUDONYM.dotted_string: "pseudonym",
    NameOID.GENERATION_QUALIFIER.dotted_string: "generationQualifier",
    NameOID.DN_QUALIFIER.dotted_string: "dnQualifier",
    NameOID.STREET_ADDRESS.dotted_string: "street",
    NameOID.POSTAL_CODE.dotted_string: "postalCode",
    NameOID.BUSINESS_CATEGORY.dotted_string: "businessCategory",
})

#: short name (case-insensitive key: upper-cased) -> OID; used to build names
OIDS_BY_SHORT_NAME: MappingProxyType[str, ObjectIdentifier] = MappingProxyType(
    {short.upper(): ObjectIdentifier(dotted) for dotted, short in SHORT_NAMES.items()}
)


def name_attributes(name: x509.Name) -> list[tuple[str, str]]:
    """``(short name, value)`` for each recognised attribute, in certificate (DER) order.

    Attributes of one multi-valued RDN keep their encoded order. Values that are not text
    (bit strings such as ``x500UniqueIdentifier``) and unknown OIDs are skipped.
    """
    result: list[tuple[str, str]] = []
    for rdn in name.rdns:
        for attribute in rdn:
            short = SHORT_NAMES.get(attribute.oid.dotted_string)
            if short is not None and isinstance(attribute.value, str):
                result.append((short, attribute.value))
    return result


def build_name(attributes: Iterable[tuple[str, str]] | dict[str, str]) -> x509.Name:
    """Build an ``x509.Name`` from ``(short name, value)`` pairs (or a dict), in that order.

    A short name may also be a dotted OID (``"2.5.4.3"``). Raises ``ValueError`` for an
    unknown name or a value ``cryptography`` refuses (callers translate it).
    """
    pairs: Sequence[tuple[str, str]] = (
        list(attributes.items()) if isinstance(attributes, dict) else list(attributes)
    )
    rdns = []
    for short, value in pairs:
        oid = OIDS_BY_SHORT_NAME.get(short.upper())
        if oid is None:
            if not all(part.isdigit() for part in short.split(".")):
                raise ValueError(f"unknown name attribute {short!r}")
            oid = ObjectIdentifier(short)
        rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)]))
    return x509.Name(rdns)
