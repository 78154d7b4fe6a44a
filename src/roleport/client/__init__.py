"""Roleport's client toolkit: certificates in, temporary AWS credentials out.

The public names, all importable from here::

    from roleport.client import session
    s = session(certificate="client.pem", private_key="client.key",
                trust_anchor_arn=TA, profile_arn=PROFILE, role_arn=ROLE,
                endpoint="https://127.0.0.1:8443", ca_bundle=".roleport/tls/ca.pem")
    s.client("sts").get_caller_identity()

Layers, each usable alone:

* signers (:mod:`.signers`, :mod:`.pkcs11`): :class:`Signer` and one implementation per
  key source, :class:`FileSigner`, :class:`Pkcs12Signer`, :class:`Pkcs11Signer`;
  :func:`open_signer` picks one from the signing helper's flags;
* CreateSession (:mod:`.sessions`): :func:`resolve_endpoint` -> :class:`Endpoint`,
  :class:`SessionRequest`, :class:`SessionClient` -> :class:`SessionCredentials`;
* boto3/botocore (:mod:`.boto`): :func:`session`, :class:`RolesAnywhereCredentialProvider`,
  :func:`install_provider`;
* long-running helpers: :class:`RefreshingCredentials` (:mod:`.cache`),
  :class:`CredentialServer` (:mod:`.imds`, IMDSv2 and container credentials),
  :func:`write_profile` (:mod:`.credentials_file`).

Errors are :class:`ClientError` subclasses (:mod:`.errors`), each with the exit code the
``roleport-signing-helper`` command uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are loaded on first use (keeps the helper quick to start)
    from roleport.client.boto import RolesAnywhereCredentialProvider, install_provider, session
    from roleport.client.cache import CredentialsUnavailableError, RefreshingCredentials
    from roleport.client.credentials import SessionCredentials
    from roleport.client.credentials_file import credentials_file_path, write_profile
    from roleport.client.errors import (
        EXIT_CODES,
        ClientError,
        ConfigurationError,
        EndpointError,
        OutputError,
        ServiceError,
        SignerError,
    )
    from roleport.client.imds import CredentialServer, ServeOptions
    from roleport.client.pkcs11 import Pkcs11Signer
    from roleport.client.sessions import Endpoint, SessionClient, SessionRequest, resolve_endpoint
    from roleport.client.signers import FileSigner, Pkcs12Signer, Signer, build_chain, open_signer

_WHERE = {
    "boto": ("RolesAnywhereCredentialProvider", "install_provider", "session"),
    "cache": ("CredentialsUnavailableError", "RefreshingCredentials"),
    "credentials": ("SessionCredentials",),
    "credentials_file": ("credentials_file_path", "write_profile"),
    "errors": ("EXIT_CODES", "ClientError", "ConfigurationError", "EndpointError",
               "OutputError", "ServiceError", "SignerError"),
    "imds": ("CredentialServer", "ServeOptions"),
    "pkcs11": ("Pkcs11Signer",),
    "sessions": ("Endpoint", "SessionClient", "SessionRequest", "resolve_endpoint"),
    "signers": ("FileSigner", "Pkcs12Signer", "Signer", "build_chain", "open_signer"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'roleport.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"roleport.client.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "EXIT_CODES",
    "ClientError",
    "ConfigurationError",
    "CredentialServer",
    "CredentialsUnavailableError",
    "Endpoint",
    "EndpointError",
    "FileSigner",
    "OutputError",
    "Pkcs11Signer",
    "Pkcs12Signer",
    "RefreshingCredentials",
    "RolesAnywhereCredentialProvider",
    "ServeOptions",
    "ServiceError",
    "SessionClient",
    "SessionCredentials",
    "SessionRequest",
    "Signer",
    "SignerError",
    "build_chain",
    "credentials_file_path",
    "install_provider",
    "open_signer",
    "resolve_endpoint",
    "session",
    "write_profile",
]
