"""The audit trail: one CloudTrail-shaped record per API call and CreateSession attempt.

The record has CloudTrail's fields (``eventVersion`` 1.11): who (``userIdentity``: the
access key id, never its secret), what (``eventSource``, ``eventName``, the request's
parameters and, for calls that change something or issue credentials, the response,
both without secrets: :mod:`roleport.spec.redaction`), when, from where, and how it
ended (``errorCode``/``errorMessage``). A CreateSession record names the certificate in
``requestParameters.cert`` and, in ``additionalEventData``, the check that decided and
its precise reason.

:class:`AuditTrail` is the destination and its policy. Best effort (the default), a
record that cannot be queued (buffer full) is dropped and counted. Fail-closed
(``--audit-fail-closed``), nothing is dropped: a request is refused with 503 before its
operation runs while records cannot be written (the destination failed, or the buffer is
full), and a response is sent only once its record was written; when that write fails,
the response becomes a 503 (no credentials leave the server) and the record goes to the
server log instead.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from roleport.auth.verifier import access_key_id_of
from roleport.errors import ServiceUnavailableError
from roleport.ops.logwriter import LineWriter
from roleport.server.http import Request
from roleport.server.observability import Seconds
from roleport.server.pipeline import Outcome
from roleport.spec.redaction import redact

__all__ = ["EVENT_VERSION", "AuditTrail", "audit_unavailable", "cloudtrail_record", "encode_line", "is_read_only"]

EVENT_VERSION = "1.11"
_READ_PREFIXES = ("Get", "List", "Describe")
#: read-only by name, yet they hand out credentials: their response is recorded
_ISSUING = frozenset({"GetSessionToken", "GetFederationToken"})


class AuditTrail:
    """Where records go, and whether a request may go on without its record."""

    def __init__(self, writer: LineWriter, *, fail_closed: bool) -> None:
        self.writer = writer
        self.fail_closed = fail_closed

    def admit(self) -> None:
        """The pipeline's gate, before an operation runs (fail-closed only)."""
        if not self.writer.accepting:
            raise audit_unavailable()

    async def write(self, record: dict[str, Any]) -> bool:
        """Hand ``record`` over; fail-closed, wait until it was written (False: not)."""
        line = encode_line(record)
        if not self.fail_closed:
            self.writer.submit(line)
            return True
        return await self.writer.submit_committed(line)


def audit_unavailable() -> ServiceUnavailableError:
    return ServiceUnavailableError("The service is temporarily unavailable: its audit trail "
                                   "cannot be written. Retry shortly.", retry_after_seconds=1)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _timestamp(value)
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return str(value)


_ENCODER = json.JSONEncoder(default=_json_default, separators=(",", ":"))


def encode_line(record: dict[str, Any]) -> bytes:
    """One JSON line (ASCII only: control characters and terminal escapes escaped)."""
    return (_ENCODER.encode(record) + "\n").encode()


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_event_seconds = Seconds("%Y-%m-%dT%H:%M:%SZ")


class _EventIds:
    """Unique event ids without a uuid4 per record (which costs more than the rest of
    the record's fields): a random uuid per process whose last 48 bits count up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        base = uuid.uuid4().hex
        self._prefix = f"{base[:8]}-{base[8:12]}-{base[12:16]}-{base[16:20]}-"
        self._count = itertools.count(int(base[20:], 16))
        self._pid = os.getpid()

    def __call__(self) -> str:
        if self._pid != os.getpid():  # a forked worker: its own sequence
            with self._lock:
                if self._pid != os.getpid():
                    self._start()
        return f"{self._prefix}{next(self._count) & 0xFFFFFFFFFFFF:012x}"


_event_id = _EventIds()


def is_read_only(operation: str) -> bool:
    return operation.startswith(_READ_PREFIXES)


def _user_identity(request: Request, outcome: Outcome) -> dict[str, Any]:
    identity = outcome.identity
    audit = outcome.session_audit
    if identity is not None:
        out: dict[str, Any]
        if identity.kind == "assumed-role" and identity.session is not None:
            claims = identity.session
            out = {"type": "AssumedRole", "principalId": claims.assumed_role_id,
                   "arn": identity.principal_arn, "accountId": identity.account_id,
                   "accessKeyId": identity.access_key_id,
                   "sessionContext": {
                       "sessionIssuer": {"type": "Role", "principalId": claims.role_id,
                                         "arn": claims.role_arn,
                                         "accountId": claims.account_id,
                                         "userName": claims.role_name},
                       "attributes": {"creationDate": _timestamp(claims.issued_at),
                                      "mfaAuthenticated": "false"}}}
            if claims.source_identity:
                out["sessionContext"]["sourceIdentity"] = claims.source_identity
            return out
        root = identity.principal_arn.endswith(":root")
        return {"type": "Root" if root else "IAMUser", "principalId": identity.user_id,
                "arn": identity.principal_arn, "accountId": identity.account_id,
                "accessKeyId": identity.access_key_id}
    if audit is not None:  # CreateSession: the certificate is the caller
        out = {"type": "Unknown"}
        if audit.x509_subject:
            out["principalId"] = audit.x509_subject
        if audit.account_id:
            out["accountId"] = audit.account_id
        return out
    out = {"type": "Unknown"}
    if not request.header_map.get("authorization", "").startswith("AWS4-X509-"):
        key = access_key_id_of(request.signing_request())
        if key:
            out["accessKeyId"] = key[:128]
    return out


def _request_parameters(outcome: Outcome) -> dict[str, Any] | None:
    params = outcome.params
    model = outcome.operation_model
    if params is None:
        return None
    shown = redact(model.input_shape if model is not None else None, params) \
        if model is not None and model.input_shape is not None else dict(params)
    audit = outcome.session_audit
    if audit is not None and (audit.serial or audit.x509_subject):
        shown = dict(shown)
        shown["cert"] = {k: v for k, v in (("subject", audit.x509_subject),
                                           ("issuer", audit.issuer),
                                           ("serialNumber", audit.serial)) if v}
    return shown or None


def _response_elements(outcome: Outcome, read_only: bool) -> dict[str, Any] | None:
    if outcome.error_code is not None or outcome.result is None:
        return None
    if read_only and outcome.operation not in _ISSUING:
        return None
    model = outcome.operation_model
    shape = model.output_shape if model is not None else None
    return redact(shape, outcome.result) if shape is not None else None


def cloudtrail_record(request: Request, outcome: Outcome) -> dict[str, Any] | None:
    """The record of one request, or None for a request that named no service of ours
    (an unsigned request to anything but ``POST /sessions``)."""
    service, operation = outcome.service, outcome.operation
    if request.method == "POST" and request.raw_path.rstrip("/").endswith("/sessions") \
            and service in ("-", "rolesanywhere"):
        service = "rolesanywhere"
        if operation == "-":
            operation = "CreateSession"
    if service == "-":
        return None
    read_only = operation != "-" and is_read_only(operation)
    identity = _user_identity(request, outcome)
    audit = outcome.session_audit
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": _event_seconds(time.time()),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": operation if operation != "-" else "Unknown",
        "awsRegion": outcome.region or (audit.region if audit is not None else None),
        "sourceIPAddress": request.client or None,
        "userAgent": (request.header_map.get("user-agent") or "")[:1024] or None,
    }
    if outcome.error_code is not None:
        record["errorCode"] = outcome.error_code
        record["errorMessage"] = outcome.error_message
    record["requestParameters"] = _request_parameters(outcome)
    record["responseElements"] = _response_elements(outcome, read_only)
    if audit is not None:
        record["additionalEventData"] = audit.fields()
    record.update({
        "requestID": request.request_id,
        "eventID": _event_id(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": identity.get("accountId") or (
            outcome.account_id if outcome.account_id != "-" else None),
        "eventCategory": "Management",
    })
    return record
