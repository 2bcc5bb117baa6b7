"""SigV4 through botocore: sign a request (now, or at a chosen time), and recompute a received request's signature.

botocore's `SigV4Auth` always signs at the current time and over every header it sees. Signing at
a past time (the suite's expired-date case) and checking a signature over exactly the headers a
client listed (the reference server's `--enforce-sigv4`) need two small overrides, not a second
SigV4 implementation: the canonical request, string to sign and key derivation stay botocore's.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from conformance.wire.redaction import guard_signing_log

ALGORITHM = "AWS4-HMAC-SHA256"
guard_signing_log()  # botocore's signer logs each signature and session token at debug level


class _SigV4(SigV4Auth):
    """botocore's signer, at a fixed timestamp and (when checking) over a fixed list of headers."""

    def __init__(self, credentials: Credentials, service: str, region: str, timestamp: str | None = None,
                 signed_headers: tuple[str, ...] | None = None) -> None:
        super().__init__(credentials, service, region)
        self._timestamp = timestamp
        self._signed_headers = signed_headers
        self._keys: dict[tuple[str, str], bytes] = {}  # the signing key of the current date

    def add_auth(self, request: AWSRequest) -> None:
        if self._timestamp is None:
            super().add_auth(request)
            return
        request.context["timestamp"] = self._timestamp  # what SigV4Auth.add_auth does, at another time
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        self._inject_signature_to_request(request, self.signature(self.string_to_sign(request, canonical), request))

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        # botocore derives the signing key (four HMACs) for every request; it changes only with the date.
        scope = (self.credentials.secret_key, request.context["timestamp"][0:8])
        key = self._keys.get(scope)
        if key is None:
            key = self._sign(f"AWS4{scope[0]}".encode(), scope[1])
            for part in (self._region_name, self._service_name, "aws4_request"):
                key = self._sign(key, part)
            self._keys = {scope: key}  # one date at a time: the cache never grows
        return self._sign(key, string_to_sign, hex=True)

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        if self._signed_headers is None:
            # Asked twice per signature (canonical request, signed header list): computed once per request.
            chosen = request.context.get("conformance_headers_to_sign")
            if chosen is None:
                chosen = request.context["conformance_headers_to_sign"] = super().headers_to_sign(request)
            return chosen
        chosen = HTTPHeaders()
        for name, value in request.headers.items():
            if name.lower() in self._signed_headers:
                chosen[name.lower()] = value
        return chosen


class _Headers:
    """The part of botocore's HTTPHeaders (an email.message.Message) that SigV4Auth uses, over a list of pairs.

    The same semantics (names match whatever their case, setting appends, deleting drops every match,
    reading gives the first or None) without the email package's per-call policy machinery, which cost
    as much as the signature itself.
    """

    __slots__ = ("_pairs",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._pairs = list(headers.items())

    def __contains__(self, name: object) -> bool:
        lowered = str(name).lower()
        return any(key.lower() == lowered for key, _ in self._pairs)

    def __getitem__(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self._pairs if key.lower() == lowered), None)

    def __setitem__(self, name: str, value: str) -> None:
        self._pairs.append((name, value))

    def __delitem__(self, name: str) -> None:
        lowered = name.lower()
        self._pairs = [(key, value) for key, value in self._pairs if key.lower() != lowered]

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


class _Request:
    """What SigV4Auth reads of an AWSRequest, without its cost (AWSRequest's `body` property prepares a whole
    AWSPreparedRequest at each read). For a bytes body, no params and ASCII header values, botocore sees the
    same values, so it signs the same (a test compares the two)."""

    __slots__ = ("body", "context", "headers", "method", "params", "url")

    def __init__(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        self.method = method
        self.url = url
        self.headers = _Headers(headers)
        self.body = body or None  # AWSRequest reads an empty body as None
        self.params: dict[str, str] = {}
        self.context: dict[str, object] = {}


def sign(method: str, url: str, headers: Mapping[str, str], body: bytes, credentials: Credentials, service: str,
         region: str, at: datetime.datetime | None = None) -> dict[str, str]:
    """The headers with a SigV4 signature added (X-Amz-Date, Authorization, a session token if any)."""
    request: AWSRequest | _Request
    if isinstance(body, bytes) and all(isinstance(value, str) and value.isascii() for value in headers.values()):
        request = _Request(method, url, headers, body)
    else:  # a str body, or values the email package treats specially (non-ASCII, surrogates): botocore's own
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    if at is not None:
        _SigV4(credentials, service, region, at.strftime(SIGV4_TIMESTAMP)).add_auth(request)
    else:
        _signer(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


_SIGNERS: dict[tuple[int, str, str, str], _SigV4] = {}


def _signer(credentials: Credentials, service: str, region: str) -> _SigV4:
    """One signer per credential scope, reused: building one per request cost as much as signing."""
    key = (id(credentials), credentials.access_key, service, region)
    signer = _SIGNERS.get(key)
    if signer is None or signer.credentials is not credentials:
        if len(_SIGNERS) > 64:  # a long-lived process that signs with many credentials: start afresh
            _SIGNERS.clear()
        signer = _SIGNERS[key] = _SigV4(credentials, service, region)
    return signer


@dataclass(frozen=True)
class Authorization:
    """The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header."""

    access_key: str
    date: str  # yyyymmdd of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Authorization | None:
    """The header's parts, or None when it is not a well-formed SigV4 Authorization header."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        return None
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, item = part.strip().partition("=")
        if not sep or name in fields:
            return None
        fields[name] = item
    scope = fields.get("Credential", "").split("/")
    signed = fields.get("SignedHeaders", "")
    if set(fields) != {"Credential", "SignedHeaders", "Signature"} or len(scope) != 5 or scope[4] != "aws4_request" \
            or not all(scope) or not signed or not fields["Signature"]:
        return None
    return Authorization(scope[0], scope[1], scope[2], scope[3], tuple(signed.split(";")), fields["Signature"])


def expected_signature(method: str, url: str, headers: Mapping[str, str], body: bytes, credentials: Credentials,
                       auth: Authorization, timestamp: str) -> str:
    """The signature a client holding `credentials` would have sent for this request, over the headers it signed."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    request.context["timestamp"] = timestamp
    signer = _SigV4(credentials, auth.service, auth.region, signed_headers=auth.signed_headers)
    return signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


def tamper(authorization: str) -> str:
    """The Authorization header with its signature's last hex digit changed: well formed, and wrong."""
    head, _, signature = authorization.rpartition("Signature=")
    if not signature:
        return authorization + "0"
    return f"{head}Signature={signature[:-1]}{'0' if signature[-1] != '0' else '1'}"
