"""Read an ACM Private CA's certificate for an ``AWS_ACM_PCA`` trust anchor.

``DescribeCertificateAuthority`` (its status) then ``GetCertificateAuthorityCertificate``
(its certificate), with botocore and SigV4, against ``--acm-pca-endpoint`` (default: AWS's
regional endpoint for the CA's region). Credentials are the usual AWS ones of the server
process (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, an instance
role) or the profile ``--acm-pca-profile``: the same two permissions AWS's service-linked
role for Roles Anywhere has. Errors become :class:`PrivateCaError` kinds the domain turns
into AWS-style answers; what the endpoint said is logged, never a credential.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog

from roleport.domain.trust_anchors import PrivateCa, PrivateCaError
from roleport.offload import network_wait

__all__ = ["AcmPcaReader"]

log = structlog.get_logger("roleport.acm_pca")

_UNKNOWN = {"ResourceNotFoundException", "InvalidArnException"}
_DENIED = {"AccessDeniedException", "UnrecognizedClientException",
           "InvalidSignatureException", "InvalidClientTokenId", "ExpiredTokenException"}


class AcmPcaReader:
    def __init__(self, *, endpoint: str | None = None, profile: str | None = None,
                 timeout: float = 5.0) -> None:
        self.endpoint = endpoint
        self.profile = profile
        self.timeout = timeout
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, region: str) -> Any:
        import botocore.config
        import botocore.session

        with self._lock:
            client = self._clients.get(region)
            if client is None:
                session = botocore.session.Session(profile=self.profile)
                config = botocore.config.Config(
                    connect_timeout=self.timeout, read_timeout=self.timeout,
                    retries={"max_attempts": 2, "mode": "standard"},
                    user_agent_extra="roleport")
                client = session.create_client("acm-pca", endpoint_url=self.endpoint,
                                               region_name=region, config=config)
                self._clients[region] = client
            return client

    def __call__(self, acm_pca_arn: str, /) -> PrivateCa:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
            ProfileNotFound,
        )

        region = acm_pca_arn.split(":")[3]
        network_wait(f"ACM PCA {acm_pca_arn}")
        try:
            client = self._client(region)
            described = client.describe_certificate_authority(
                CertificateAuthorityArn=acm_pca_arn)["CertificateAuthority"]
            status = described.get("Status", "UNKNOWN")
            if status != "ACTIVE":
                return PrivateCa(status=status, certificate_pem=None)
            got = client.get_certificate_authority_certificate(
                CertificateAuthorityArn=acm_pca_arn)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            log.warning("ACM PCA refused a read", arn=acm_pca_arn, code=code,
                        message=error.get("Message", ""))
            if code in _UNKNOWN:
                raise PrivateCaError("unknown", code) from None
            if code in _DENIED:
                raise PrivateCaError("denied", code) from None
            if code == "InvalidStateException":
                return PrivateCa(status="not ACTIVE", certificate_pem=None)
            raise PrivateCaError("unreachable", f"the endpoint answered {code}") from None
        except (NoCredentialsError, PartialCredentialsError, ProfileNotFound):
            log.error("no credentials for ACM PCA: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                      "or --acm-pca-profile for roleport serve")
            raise PrivateCaError("denied", "Roleport has no credentials for ACM PCA; the "
                                 "operator must configure them") from None
        except BotoCoreError as exc:
            log.warning("ACM PCA did not answer", arn=acm_pca_arn, error=type(exc).__name__)
            raise PrivateCaError("unreachable", "the ACM PCA endpoint did not answer "
                                 f"({type(exc).__name__})") from None
        return PrivateCa(status="ACTIVE", certificate_pem=got.get("Certificate"))
