"""An OpenAPI 3.0 document of every operation Roleport serves, generated from the models.

Nothing here is typed per operation: paths, parameters, bodies, constraints and error
statuses all come from the botocore service models (and our own ``/sessions`` model), the
same ones that route, parse and validate requests. The document is served at
``/_roleport/openapi.json`` (see docs/openapi.md) and drives the schemathesis fuzz run.

Two protocols, two mappings:

* **rest-json** (Roles Anywhere): the model's ``requestUri`` and method are the path and
  method; ``uri``/``querystring``/``header`` members are parameters; the remaining members
  are the JSON body.
* **query** (IAM, STS): every action is ``POST /`` with a form body carrying ``Action`` and
  ``Version``. OpenAPI keys operations by path, so each action is documented at
  ``/#<Action>``: the fragment names the operation and is never sent, so the request on
  the wire is ``POST /``, exactly as AWS's SDKs send it. The body schema is the input
  shape as a nested object; on the wire it is flattened by the query protocol's rule
  (``Tags.member.1.Key``; :func:`flatten_query` does it).

Constraints go into the schemas: ``min``/``max`` (length, items, value), ``pattern``
(anchored, since AWS matches the whole value), ``enum``, ``required``. AWS's patterns are
Java regular expressions; the few that use ``\\p{L}`` are kept as they are (ECMAScript's
unicode mode reads them the same).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import botocore.model
from botocore import xform_name

from roleport.spec.models import Service, load_service

__all__ = ["OPENAPI_PATH", "flatten_query", "openapi_document", "query_path", "served_operations"]

OPENAPI_PATH = "/_roleport/openapi.json"

_INT_FORMATS = {"integer": "int32", "long": "int64"}
_INT_BOUNDS = {"integer": (-(1 << 31), (1 << 31) - 1), "long": (-(1 << 63), (1 << 63) - 1)}


def query_path(action: str) -> str:
    """The OpenAPI path of a query-protocol action: ``POST /`` on the wire."""
    return f"/#{action}"


def _ref(service: Service, shape_name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{service.name}.{shape_name}"}


def _anchored(pattern: str) -> str:
    return pattern if pattern.startswith("^") and pattern.endswith("$") else f"^(?:{pattern})$"


class _Builder:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    # -- shapes -> JSON Schema (OpenAPI 3.0 dialect) ---------------------------------

    def shape(self, service: Service, shape: botocore.model.Shape) -> dict[str, Any]:
        """A ``$ref`` to the shape's component schema (built on first use)."""
        key = f"{service.name}.{shape.name}"
        if key not in self.schemas:
            self.schemas[key] = {}  # placeholder: recursive shapes end here
            self.schemas[key] = self._schema(service, shape)
        return _ref(service, shape.name)

    def _schema(self, service: Service, shape: botocore.model.Shape) -> dict[str, Any]:
        t, meta = shape.type_name, shape.metadata
        out: dict[str, Any]
        if t == "structure":
            # additionalProperties: false: the model names every member a client may send
            # (the server ignores others, as AWS does)
            out = {"type": "object", "properties": self.members(service, shape.members),
                   "additionalProperties": False}
            if shape.required_members:
                out["required"] = list(shape.required_members)
            if meta.get("union"):
                out.update(minProperties=1, maxProperties=1)
        elif t == "list":
            out = {"type": "array", "items": self.shape(service, shape.member)}
            _bounds(out, meta, "minItems", "maxItems")
        elif t == "map":
            out = {"type": "object", "additionalProperties": self.shape(service, shape.value)}
            _bounds(out, meta, "minProperties", "maxProperties")
            key_meta = shape.key.metadata
            if "pattern" in key_meta or "min" in key_meta or "max" in key_meta:
                out["x-aws-key"] = self._scalar(service, shape.key)
        else:
            out = self._scalar(service, shape)
        if shape.documentation:
            out["description"] = _plain(shape.documentation)
        return out

    def _scalar(self, service: Service, shape: botocore.model.Shape) -> dict[str, Any]:
        t, meta = shape.type_name, shape.metadata
        if t == "string":
            out: dict[str, Any] = {"type": "string"}
            if shape.enum:
                out["enum"] = list(shape.enum)
            _bounds(out, meta, "minLength", "maxLength")
            if meta.get("pattern"):
                out["pattern"] = _anchored(meta["pattern"])
        elif t in ("integer", "long"):
            low, high = _INT_BOUNDS[t]
            out = {"type": "integer", "format": _INT_FORMATS[t],
                   "minimum": int(meta.get("min", low)), "maximum": int(meta.get("max", high))}
        elif t in ("float", "double"):
            out = {"type": "number"}
            _bounds(out, meta, "minimum", "maximum")
        elif t == "boolean":
            out = {"type": "boolean"}
        elif t == "blob":
            out = {"type": "string", "format": "byte"}
            _bounds(out, meta, "minLength", "maxLength")  # of the decoded bytes, in AWS
        elif t == "timestamp":
            fmt = shape.serialization.get("timestampFormat") or (
                "iso8601" if service.protocol == "query" else "unixTimestamp")
            out = {"type": "number", "description": "seconds since the epoch"} \
                if fmt == "unixTimestamp" else {"type": "string", "format": "date-time"}
        else:  # pragma: no cover - a new botocore type
            out = {}
        return out

    def members(self, service: Service,
                members: dict[str, botocore.model.Shape]) -> dict[str, Any]:
        return {m.serialization.get("name", n): self.shape(service, m)
                for n, m in members.items()}

    # -- operations ------------------------------------------------------------------

    def rest_operation(self, service: Service, op: botocore.model.OperationModel,
                       signing_name: str) -> dict[str, Any]:
        shape = op.input_shape
        params: list[dict[str, Any]] = []
        body: dict[str, botocore.model.Shape] = {}
        required_body: list[str] = []
        payload: str | None = shape.serialization.get("payload") if shape else None
        for name, member in (shape.members.items() if shape else ()):
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            required = name in shape.required_members  # type: ignore[union-attr]
            if location in ("uri", "querystring", "header"):
                place = {"uri": "path", "querystring": "query"}.get(location, location)
                param: dict[str, Any] = {"name": wire, "in": place,
                                         "required": required or place == "path",
                                         "schema": self.shape(service, member)}
                if place == "query" and member.type_name == "list":
                    param.update(style="form", explode=True)
                params.append(param)
            elif location is None and name != payload:
                body[name] = member
                if required:
                    required_body.append(member.serialization.get("name", name))
        out = self._operation(service, op, signing_name)
        if params:
            out["parameters"] = params
        if payload and shape is not None:
            out["requestBody"] = {"required": payload in shape.required_members, "content": {
                "application/json": {"schema": self.shape(service, shape.members[payload])}}}
        elif body:
            schema: dict[str, Any] = {"type": "object", "properties": self.members(service, body),
                                      "additionalProperties": False}
            if required_body:
                schema["required"] = required_body
            out["requestBody"] = {"required": bool(required_body),
                                  "content": {"application/json": {"schema": schema}}}
        status = str(op.http.get("responseCode", 200))
        out["responses"] = {status: _response("Success", "application/json",
                                              self.shape(service, op.output_shape)
                                              if op.output_shape else {"type": "object"})}
        out["responses"].update(self._errors(service, op, "application/json", _JSON_ERROR))
        return out

    def query_operation(self, service: Service, op: botocore.model.OperationModel,
                        signing_name: str) -> dict[str, Any]:
        shape = op.input_shape
        properties: dict[str, Any] = {
            "Action": {"type": "string", "enum": [op.name]},
            "Version": {"type": "string", "enum": [service.model.api_version]}}
        required = ["Action", "Version"]
        if shape is not None:
            properties.update(self.members(service, shape.members))
            required += [shape.members[n].serialization.get("name", n)
                         for n in shape.required_members]
        out = self._operation(service, op, signing_name)
        out["x-aws-protocol"] = "query"
        out["requestBody"] = {"required": True, "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": properties, "required": required,
                           "additionalProperties": False}}}}
        out["responses"] = {"200": _response(
            f"A {op.name}Response XML document", "text/xml", {"type": "string"})}
        out["responses"].update(self._errors(service, op, "text/xml", {"type": "string"}))
        return out

    def _operation(self, service: Service, op: botocore.model.OperationModel,
                   signing_name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"operationId": f"{service.name}.{op.name}",
                               "tags": [signing_name],
                               "x-aws-signing-name": signing_name}
        if op.documentation:
            out["summary"] = _plain(op.documentation).split(". ")[0][:200]
        if service.name == "rolesanywhere-sessions":
            out["security"] = [{"sigv4X509": []}]
        return out

    def _errors(self, service: Service, op: botocore.model.OperationModel, media: str,
                schema: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for error in op.error_shapes:
            status = str(error.metadata.get("error", {}).get("httpStatusCode", 400))
            entry = out.setdefault(status, _response("", media, schema))
            entry["description"] = ", ".join(filter(None, [entry["description"], error.name]))
        out["default"] = _response("Any other AWS error (e.g. ValidationException, "
                                   "AccessDeniedException)", media, schema)
        return out


_JSON_ERROR = {"type": "object", "required": ["message"],
               "properties": {"message": {"type": "string"}}}


def _response(description: str, media: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": schema}}}


def _bounds(out: dict[str, Any], meta: dict[str, Any], low: str, high: str) -> None:
    if "min" in meta:
        out[low] = meta["min"]
    if "max" in meta:
        out[high] = meta["max"]


def _plain(html: str) -> str:
    """Model documentation is HTML; the document wants one plain line."""
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def openapi_document(served: dict[str, Iterable[str]], *, version: str,
                     server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``served``: service name -> operation names."""
    builder = _Builder()
    paths: dict[str, dict[str, Any]] = {}
    for service_name, operations in served.items():
        service = load_service(service_name)
        signing_name = "rolesanywhere" if service_name.startswith("rolesanywhere") \
            else service.signing_name
        for name in operations:
            op = service.model.operation_model(name)
            if service.protocol == "query":
                paths.setdefault(query_path(name), {})["post"] = builder.query_operation(
                    service, op, signing_name)
            else:
                path = op.http["requestUri"].split("?")[0]
                paths.setdefault(path, {})[op.http["method"].lower()] = builder.rest_operation(
                    service, op, signing_name)
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Roleport", "version": version,
                 "description": "IAM Roles Anywhere (control plane and CreateSession), IAM "
                 "roles and STS, as served by this Roleport server. Generated from the "
                 "botocore service models; see docs/openapi.md."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(builder.schemas.items())),
                       "securitySchemes": {
                           "sigv4": {"type": "apiKey", "in": "header", "name": "Authorization",
                                     "description": "AWS Signature Version 4 with an access "
                                     "key (the scope names the service: rolesanywhere, iam "
                                     "or sts)", "x-amazon-apigateway-authtype": "awsSigv4"},
                           "sigv4X509": {"type": "apiKey", "in": "header",
                                         "name": "Authorization",
                                         "description": "Roles Anywhere's X.509 variant of "
                                         "SigV4 (AWS4-X509-RSA-SHA256 / "
                                         "AWS4-X509-ECDSA-SHA256)"}}},
        "security": [{"sigv4": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def served_operations(providers: dict[str, Any]) -> dict[str, list[str]]:
    """The operations ``providers`` (service name -> provider object) answer, in model
    order; CreateSession when ``rolesanywhere-sessions`` is given."""
    out: dict[str, list[str]] = {}
    for service_name, provider in providers.items():
        model = load_service(service_name).model
        out[service_name] = [n for n in model.operation_names
                             if provider is None or hasattr(provider, xform_name(n))]
    return out


# -- the query protocol's flattening (what a form body looks like on the wire) ---------


def flatten_query(shape: botocore.model.Shape | None, value: Any, prefix: str = "",
                  out: dict[str, str] | None = None) -> dict[str, str]:
    """``{"Tags": [{"Key": "a"}]}`` -> ``{"Tags.member.1.Key": "a"}``, by the input shape.

    Values of the wrong type for their shape are written as text, so that a fuzzer's
    invalid values reach the server's validator as they would from a hostile client.
    """
    out = {} if out is None else out
    t = shape.type_name if shape is not None else None
    if isinstance(value, dict) and t == "structure":
        assert shape is not None
        members = {m.serialization.get("name", n): m for n, m in shape.members.items()}
        for key, item in value.items():
            flatten_query(members.get(key), item, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, dict) and t == "map":
        assert shape is not None
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        for i, (key, item) in enumerate(value.items(), 1):
            out[f"{base}.{i}.{key_name}"] = str(key)
            flatten_query(shape.value, item, f"{base}.{i}.{value_name}", out)
    elif isinstance(value, list):
        member = shape.member if t == "list" else None  # type: ignore[union-attr]
        if not value:
            out[prefix] = ""
        elif t == "list" and shape.serialization.get("flattened"):  # type: ignore[union-attr]
            for i, item in enumerate(value, 1):
                flatten_query(member, item, f"{prefix}.{i}", out)
        else:
            name = member.serialization.get("name", "member") if member else "member"
            for i, item in enumerate(value, 1):
                flatten_query(member, item, f"{prefix}.{name}.{i}", out)
    elif isinstance(value, dict):
        for key, item in value.items():
            flatten_query(None, item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    elif isinstance(value, datetime):
        out[prefix] = value.isoformat()
    elif value is None:
        out[prefix] = ""
    else:
        out[prefix] = str(value)
    return out
