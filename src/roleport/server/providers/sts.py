"""STS (query protocol): GetCallerIdentity, and AssumeRole for an account's admin keys.

The issuer speaks Roles Anywhere's language (``Unable to assume role for ...``); this
boundary re-labels its refusals with STS's codes and wording: ``AccessDenied`` (403),
``ValidationError`` for a duration over the role's maximum, ``MalformedPolicyDocument``
and ``PackedPolicyTooLarge`` (400).
"""

from __future__ import annotations

from typing import Any

from roleport.domain.context import Caller
from roleport.errors import RoleportError, ValidationError
from roleport.sts.errors import (
    AssumeRoleDenied,
    DurationTooLong,
    PackedPolicyTooLarge,
    SessionPolicyInvalid,
)
from roleport.sts.issuer import AssumeRoleRequest, CredentialIssuer

Params = dict[str, Any]
DEFAULT_DURATION_SECONDS = 3600


def _access_denied(message: str) -> RoleportError:
    return RoleportError(message, code="AccessDenied", status=403)


class StsProvider:
    def __init__(self, issuer: CredentialIssuer) -> None:
        self.issuer = issuer

    def get_caller_identity(self, caller: Caller, p: Params) -> Params:
        return {"UserId": caller.user_id, "Account": caller.account_id,
                "Arn": caller.principal_arn}

    def assume_role(self, caller: Caller, p: Params) -> Params:
        role_arn = p["RoleArn"]
        refused = (f"User: {caller.principal_arn} is not authorized to perform: "
                   f"sts:AssumeRole on resource: {role_arn}")
        if ":assumed-role/" in caller.principal_arn:
            raise _access_denied(f"{refused}. Roleport does not support role chaining: "
                                 f"call AssumeRole with the account's admin keys.")
        tags = [(t["Key"], t["Value"]) for t in p.get("Tags") or []]
        request = AssumeRoleRequest(
            account_id=caller.account_id, role_arn=role_arn,
            role_session_name=p["RoleSessionName"],
            duration_seconds=p.get("DurationSeconds") or DEFAULT_DURATION_SECONDS,
            source_identity=p.get("SourceIdentity"), session_tags=tags,
            session_policy=p.get("Policy"),
            policy_arns=[a["arn"] for a in p.get("PolicyArns") or [] if a.get("arn")],
            principal_arn=caller.principal_arn, external_id=p.get("ExternalId"),
            context={"aws:PrincipalArn": caller.principal_arn,
                     "aws:PrincipalAccount": caller.account_id})
        try:
            issued = self.issuer.assume_role(request)
        except SessionPolicyInvalid as exc:
            raise RoleportError(exc.detail, code="MalformedPolicyDocument", status=400) from None
        except PackedPolicyTooLarge as exc:
            raise RoleportError(f"Packed policy consumes {exc.percent}% of allotted space, "
                                f"please use smaller policy.", code="PackedPolicyTooLarge",
                                status=400) from None
        except DurationTooLong:
            raise ValidationError(DurationTooLong.MESSAGE) from None
        except AssumeRoleDenied as exc:
            reason = f". {exc.reason}" if exc.reason else ""
            raise _access_denied(refused + reason) from None
        out: Params = {
            "Credentials": {"AccessKeyId": issued.access_key_id,
                            "SecretAccessKey": issued.secret_access_key,
                            "SessionToken": issued.session_token,
                            "Expiration": issued.expiration},
            "AssumedRoleUser": {"AssumedRoleId": issued.assumed_role_id,
                                "Arn": issued.assumed_role_arn},
            "PackedPolicySize": issued.packed_policy_size,
        }
        if issued.source_identity is not None:
            out["SourceIdentity"] = issued.source_identity
        return out
