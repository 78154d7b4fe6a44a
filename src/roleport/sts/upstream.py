"""Upstream mode: roles from an upstream IAM, credentials from an upstream STS.

For each request: the role comes from the upstream IAM ``GetRole`` (reused for
``upstream_role_cache_seconds``); Roleport checks it exactly as the built-in issuer does
(trust policy as ``rolesanywhere.amazonaws.com`` with the request's context keys, the
duration against ``MaxSessionDuration``); then the upstream STS ``AssumeRole`` issues the
credentials, with the computed DurationSeconds, RoleSessionName, SourceIdentity, Tags,
Policy and PolicyArns. They are handed back unchanged, so they work against whatever the
upstream serves.

The upstream sees Roleport's own upstream principal (from the usual AWS environment
variables or profile), not the service: the role's trust policy must also let that
principal assume it (with ``sts:TagSession`` and ``sts:SetSourceIdentity``).

Errors: a refusal by the upstream is an ``AssumeRoleDenied`` naming the upstream's error
code (its message, which may name Roleport's upstream principal, goes to the log only);
an upstream that does not answer, throttles, or fails is a 503
``ServiceUnavailableError`` with ``retryAfterSeconds``. Nothing here becomes a 500.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from roleport.clock import Clock
from roleport.errors import ServiceUnavailableError
from roleport.iam.roles import parse_role_arn
from roleport.offload import network_wait
from roleport.sts import trust
from roleport.sts.errors import AssumeRoleDenied
from roleport.sts.issuer import AssumeRoleRequest, IssuedCredentials

log = logging.getLogger("roleport.sts.upstream")

RETRY_AFTER_SECONDS = 2
_UNAVAILABLE_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded",
                      "ServiceUnavailable", "ServiceUnavailableException", "ServiceFailure",
                      "InternalFailure", "InternalError", "RequestTimeout"}


class UpstreamIssuer:
    def __init__(self, iam: Any, sts: Any, clock: Clock, *, cache_seconds: float = 30.0,
                 name: str = "upstream") -> None:
        self._iam = iam
        self._sts = sts
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._name = name
        self._cache: dict[str, tuple[float, trust.RoleFacts]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, clock: Clock) -> UpstreamIssuer:
        import botocore.config
        import botocore.session

        endpoint = None if settings.upstream_endpoint == "aws" else settings.upstream_endpoint
        iam_endpoint = settings.upstream_iam_endpoint or endpoint
        session = botocore.session.Session(profile=settings.upstream_profile)
        config = botocore.config.Config(
            connect_timeout=settings.upstream_timeout_seconds,
            read_timeout=settings.upstream_timeout_seconds,
            retries={"max_attempts": 2, "mode": "standard"}, user_agent_extra="roleport")
        region = settings.upstream_region
        iam = session.create_client("iam", endpoint_url=iam_endpoint, region_name=region,
                                    config=config)
        sts = session.create_client("sts", endpoint_url=endpoint, region_name=region,
                                    config=config)
        return cls(iam, sts, clock, cache_seconds=settings.upstream_role_cache_seconds,
                   name=settings.upstream_endpoint)

    # -- calling the upstream --------------------------------------------------------

    def _call(self, what: str, role_arn: str, fn: Callable[..., Any], **params: Any) -> Any:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        network_wait(f"upstream {what}")
        try:
            return fn(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            log.warning("upstream %s refused %s for %s: %s %s: %s", self._name, what, role_arn,
                        status, code, error.get("Message", ""))
            if status >= 500 or code in _UNAVAILABLE_CODES:
                raise ServiceUnavailableError(
                    f"The upstream {what} is unavailable ({code}). Retry shortly.",
                    retry_after_seconds=RETRY_AFTER_SECONDS) from None
            if code == "NoSuchEntity":
                raise AssumeRoleDenied(role_arn, "The role does not exist upstream.") from None
            raise AssumeRoleDenied(role_arn, f"The upstream {what} refused the request "
                                             f"({code}).") from None
        except (NoCredentialsError, PartialCredentialsError):
            log.error("no credentials for the upstream %s: set AWS_ACCESS_KEY_ID/"
                      "AWS_SECRET_ACCESS_KEY or a profile for roleport serve", self._name)
            raise ServiceUnavailableError(
                "Roleport has no credentials for its upstream; the operator must configure "
                "them.", retry_after_seconds=30) from None
        except BotoCoreError as exc:
            log.warning("upstream %s did not answer %s for %s: %s", self._name, what, role_arn,
                        exc)
            raise ServiceUnavailableError(
                f"The upstream {what} did not answer ({type(exc).__name__}). Retry shortly.",
                retry_after_seconds=RETRY_AFTER_SECONDS) from None

    def _role(self, role_arn: str) -> trust.RoleFacts:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(role_arn)
        if hit is not None and hit[0] > now:
            return hit[1]
        parsed = parse_role_arn(role_arn)
        if parsed is None:
            raise AssumeRoleDenied(role_arn)
        account_id, _path, name = parsed
        role = self._call("IAM GetRole", role_arn, self._iam.get_role, RoleName=name)["Role"]
        if role.get("Arn") != role_arn:
            log.info("upstream role %s is not %s", role.get("Arn"), role_arn)
            raise AssumeRoleDenied(role_arn, "The role does not exist upstream.")
        document = role.get("AssumeRolePolicyDocument") or "{}"
        facts = trust.RoleFacts(
            arn=role_arn, role_id=role.get("RoleId", ""), name=name, account_id=account_id,
            trust_policy=document if isinstance(document, str) else json.dumps(document),
            max_session_duration=int(role.get("MaxSessionDuration") or 3600))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[role_arn] = (now + self._cache_seconds, facts)
        return facts

    # -- the contract ----------------------------------------------------------------

    def assume_role(self, request: AssumeRoleRequest) -> IssuedCredentials:
        ask = request.ask()
        trust.check_inputs(ask)
        role = self._role(request.role_arn)
        trust.check_trust(role, ask, self._clock.now())
        trust.check_duration(role, ask)
        params: dict[str, Any] = {"RoleArn": request.role_arn,
                                  "RoleSessionName": request.role_session_name,
                                  "DurationSeconds": request.duration_seconds}
        if request.source_identity is not None:
            params["SourceIdentity"] = request.source_identity
        if request.session_tags:
            params["Tags"] = [{"Key": k, "Value": v} for k, v in request.session_tags]
        if request.session_policy is not None:
            params["Policy"] = request.session_policy
        if request.policy_arns:
            params["PolicyArns"] = [{"arn": a} for a in request.policy_arns]
        if request.external_id is not None:
            params["ExternalId"] = request.external_id
        out = self._call("STS AssumeRole", request.role_arn, self._sts.assume_role, **params)
        creds, user = out["Credentials"], out["AssumedRoleUser"]
        log.info("upstream %s issued %s for %s", self._name, creds["AccessKeyId"], user["Arn"])
        return IssuedCredentials(
            access_key_id=creds["AccessKeyId"], secret_access_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"], expiration=creds["Expiration"],
            assumed_role_arn=user["Arn"], assumed_role_id=user["AssumedRoleId"],
            packed_policy_size=int(out.get("PackedPolicySize") or 0),
            source_identity=out.get("SourceIdentity", request.source_identity))
