"""Service models: botocore's for the AWS APIs, plus our own for what botocore lacks.

The models are the single source of truth for routing, parsing, validation and
serialization. botocore's are read from the installed botocore (pinned in
pyproject.toml); our own (the ``/sessions`` operation of Roles Anywhere) live in
``spec/data/`` in the same JSON format and are loaded by the same loader.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import botocore.loaders
import botocore.model

_OWN_DATA = os.path.join(os.path.dirname(__file__), "data")

#: SigV4 signing name -> the service models that answer under that name
SERVICES_BY_SIGNING_NAME: dict[str, tuple[str, ...]] = {
    "rolesanywhere": ("rolesanywhere", "rolesanywhere-sessions"),
    "iam": ("iam",),
    "sts": ("sts",),
}


@dataclass(frozen=True)
class Service:
    """One service model with the facts the protocol layer needs, computed once."""

    name: str
    model: botocore.model.ServiceModel

    @property
    def protocol(self) -> str:
        return self.model.metadata["protocol"]

    @property
    def signing_name(self) -> str:
        return self.model.metadata.get("signingName") or self.model.metadata["endpointPrefix"]


@lru_cache(maxsize=1)
def _loader() -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader()
    loader.search_paths.insert(0, _OWN_DATA)
    return loader


@lru_cache(maxsize=None)
def load_service(name: str) -> Service:
    """Load one service model by its data name (``rolesanywhere``, ``iam``, ``sts``...)."""
    data = _loader().load_service_model(name, "service-2")
    return Service(name=name, model=botocore.model.ServiceModel(data, service_name=name))


def services_for_signing_name(signing_name: str) -> tuple[Service, ...]:
    return tuple(load_service(n) for n in SERVICES_BY_SIGNING_NAME.get(signing_name, ()))
