"""The headers a request goes out with: SigV4-signed as a client would sign it, or wrongly on purpose."""

from __future__ import annotations

import datetime

from conformance.cases import Signing
from conformance.engine.safety import UnsafeRequest
from conformance.model.operations import ServiceMeta
from conformance.targets.target import Target, is_aws_host
from conformance.wire import sigv4
from conformance.wire.http import HttpRequest

EXPIRED_BY = datetime.timedelta(hours=1)  # far past the 5 minutes of clock skew SigV4 allows


def signed_headers(request: HttpRequest, url: str, service: ServiceMeta, target: Target,
                   signing: Signing = Signing.SIGV4) -> dict[str, str]:
    """The request's own headers, plus a SigV4 signature (or a broken one) when the target has credentials;
    UnsafeRequest where real credentials would sign for a host outside AWS."""
    if signing not in tuple(Signing):
        raise ValueError(f"unknown signing {signing!r} (known: {', '.join(Signing)})")
    credentials = target.credentials
    if credentials is None or signing is Signing.UNSIGNED:
        return dict(request.headers)
    if target.has_real_credentials and not is_aws_host(url) and not target.credentials_to_custom_endpoint:
        raise UnsafeRequest(f"not sent: real credentials do not sign for {url}, outside AWS")
    at = datetime.datetime.now(datetime.UTC) - EXPIRED_BY if signing is Signing.EXPIRED_DATE else None
    headers = sigv4.sign(request.method, url, request.headers, request.body, credentials, service.signing_name,
                         target.region, at=at)
    if signing is Signing.BAD_SIGNATURE:
        headers["Authorization"] = sigv4.tamper(headers["Authorization"])
    return headers
