"""The headers a request goes out with: SigV4-signed as a client would sign it, or wrongly on purpose.

Each wrong signing (`Signing`) gets one thing wrong that a verifying server must refuse, and signs
everything else as botocore does, so that a server that skips that one check serves it. What is
signed differently is said in `_SIGNED_OTHERWISE`; what is changed once signed, as the request goes
out, in `_CHANGED_ONCE_SIGNED`. The request's own headers and body are always sent as they are: the
header or body "changed after signing" is signed with its earlier value, and sent with the case's.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from botocore.credentials import Credentials

from conformance.cases import Signing
from conformance.engine.safety import UnsafeRequest
from conformance.model.operations import ServiceMeta
from conformance.targets.target import Target, is_aws_host
from conformance.wire import sigv4
from conformance.wire.credentials import UNKNOWN_KEY_CREDENTIALS
from conformance.wire.http import HttpRequest

EXPIRED_BY = datetime.timedelta(hours=1)  # far past the 15 minutes of clock skew SigV4 allows
# AWS allows 15 minutes of skew either way (PROTOCOL_NOTES §7). 20 is refused by such a server even when its
# clock and ours are up to 5 minutes apart.
SKEWED_BY = datetime.timedelta(minutes=20)
# A signing name no AWS service has: a host that picks the service from the scope (LocalStack) has none to route
# it to, so the answer comes from the service the request names.
OTHER_SERVICE = "conformance"
OTHER_TERMINATOR = "aws5_request"
OTHER_ALGORITHM = "AWS4-HMAC-SHA512"
CHANGED_HEADER = "X-Conformance-Signed"  # a header no server reads: signed as "a", sent as "b"
CONTENT_SHA256 = sigv4.CONTENT_SHA256


def other_region(region: str) -> str:
    """A region other than the target's, to scope a signature to."""
    return "us-west-2" if region != "us-west-2" else "us-east-1"


@dataclass(frozen=True)
class _Signed:
    """What a signature covers, and with which key and scope."""

    headers: dict[str, str]
    body: bytes
    credentials: Credentials
    service: str
    region: str
    at: datetime.datetime
    scope_date: str | None = None  # None: the day of `at`
    terminator: str = sigv4.TERMINATOR


def _body_changed(signed: _Signed) -> _Signed:
    # The body signed had one more byte (a trailing newline a proxy could trim); its hash is sent, signed, in
    # X-Amz-Content-SHA256, so that a server that takes that header as the body's hash (as botocore's signer does)
    # serves the request, and one that hashes the body it received refuses it.
    body = signed.body + b"\n"
    return dataclasses.replace(signed, body=body,
                               headers={**signed.headers, CONTENT_SHA256: hashlib.sha256(body).hexdigest()})


_SIGNED_OTHERWISE: dict[Signing, Callable[[_Signed], _Signed]] = {
    Signing.EXPIRED_DATE: lambda signed: dataclasses.replace(signed, at=signed.at - EXPIRED_BY),
    Signing.DATE_BEHIND: lambda signed: dataclasses.replace(signed, at=signed.at - SKEWED_BY),
    Signing.DATE_AHEAD: lambda signed: dataclasses.replace(signed, at=signed.at + SKEWED_BY),
    Signing.OTHER_REGION: lambda signed: dataclasses.replace(signed, region=other_region(signed.region)),
    Signing.OTHER_SERVICE: lambda signed: dataclasses.replace(signed, service=OTHER_SERVICE),
    Signing.OTHER_SCOPE_DATE: lambda signed: dataclasses.replace(
        signed, scope_date=(signed.at - datetime.timedelta(days=1)).strftime("%Y%m%d")),
    Signing.OTHER_TERMINATOR: lambda signed: dataclasses.replace(signed, terminator=OTHER_TERMINATOR),
    # Never the user's secret: a request meant to be refused is signed with the made-up pair.
    Signing.UNKNOWN_KEY: lambda signed: dataclasses.replace(signed, credentials=UNKNOWN_KEY_CREDENTIALS),
    Signing.SIGNED_HEADER_CHANGED: lambda signed: dataclasses.replace(
        signed, headers={**signed.headers, CHANGED_HEADER: "a"}),
    Signing.BODY_CHANGED: _body_changed,
}


def _authorization(change: Callable[[str], str]) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda headers: {**headers, "Authorization": change(headers["Authorization"])}


_CHANGED_ONCE_SIGNED: dict[Signing, Callable[[dict[str, str]], dict[str, str]]] = {
    Signing.BAD_SIGNATURE: _authorization(sigv4.tamper),
    Signing.SIGNED_HEADER_CHANGED: lambda headers: {**headers, CHANGED_HEADER: "b"},
    Signing.INCOMPLETE_AUTHORIZATION: _authorization(lambda value: sigv4.without_part(value, "Signature")),
    Signing.OTHER_ALGORITHM: _authorization(lambda value: OTHER_ALGORITHM + value.removeprefix(sigv4.ALGORITHM)),
}


def signed_headers(request: HttpRequest, url: str, service: ServiceMeta, target: Target,
                   signing: Signing = Signing.SIGV4) -> dict[str, str]:
    """The request's own headers, plus a SigV4 signature (or a wrong one) when the target has credentials;
    UnsafeRequest where real credentials would sign for a host outside AWS."""
    if signing not in tuple(Signing):
        raise ValueError(f"unknown signing {signing!r} (known: {', '.join(Signing)})")
    credentials = target.credentials
    if credentials is None or signing is Signing.UNSIGNED:
        return dict(request.headers)
    if target.has_real_credentials and not is_aws_host(url) and not target.credentials_to_custom_endpoint:
        raise UnsafeRequest(f"not sent: real credentials do not sign for {url}, outside AWS")
    if signing is Signing.SIGV4:  # botocore's own canonical request, made once per request shape, signed now
        return sigv4.sign_now(request.method, url, request.headers, request.body, credentials, service.signing_name,
                              target.region)
    signed = _Signed(dict(request.headers), request.body, credentials, service.signing_name, target.region,
                     datetime.datetime.now(datetime.UTC))
    signed = _SIGNED_OTHERWISE.get(signing, lambda same: same)(signed)
    headers = sigv4.sign(request.method, url, signed.headers, signed.body, signed.credentials, signed.service,
                         signed.region, at=signed.at, scope_date=signed.scope_date, terminator=signed.terminator)
    return _CHANGED_ONCE_SIGNED.get(signing, lambda same: same)(headers)
