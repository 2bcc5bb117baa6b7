"""SigV4 through botocore: sign a request (now, at a chosen time, or for a chosen scope), and recompute a received
request's signature.

botocore's `SigV4Auth` always signs at the current time, for a scope of that day ending in
`aws4_request`, and over every header it sees. Signing at another time or for a wrong scope (the
suite's authentication cases) and checking a signature over exactly the headers and scope a client
sent (the reference server's `--enforce-sigv4`) need small overrides, not a second SigV4
implementation: the canonical request, string to sign and key derivation stay botocore's.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import botocore.auth
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from conformance.wire.redaction import guard_signing_log

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"  # the credential scope's last part
CONTENT_SHA256 = "X-Amz-Content-SHA256"
AUTHORIZATION_PARTS = ("Credential", "SignedHeaders", "Signature")
guard_signing_log()  # botocore's signer logs each signature and session token at debug level


class _SigV4(SigV4Auth):
    """botocore's signer, at a fixed timestamp, for a scope of another date or terminator if asked, and (when
    checking) over a fixed list of headers."""

    def __init__(self, credentials: Credentials, service: str, region: str, timestamp: str | None = None,
                 signed_headers: tuple[str, ...] | None = None, scope_date: str | None = None,
                 terminator: str = TERMINATOR) -> None:
        super().__init__(credentials, service, region)
        self._timestamp = timestamp
        self._signed_headers = signed_headers
        self._scope_date = scope_date  # None: the day of the timestamp, as botocore has it
        self._terminator = terminator
        self._keys: dict[tuple[str, str], bytes] = {}  # the signing key of the current date

    def add_auth(self, request: AWSRequest) -> None:
        if self._timestamp is None:
            super().add_auth(request)
            return
        request.context["timestamp"] = self._timestamp  # what SigV4Auth.add_auth does, at another time
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        self._inject_signature_to_request(request, self.signature(self.string_to_sign(request, canonical), request))

    def _date(self, request: AWSRequest) -> str:
        return self._scope_date or request.context["timestamp"][0:8]

    def credential_scope(self, request: AWSRequest) -> str:
        # botocore's, with the date and terminator this signer was given (the same unless a case asks otherwise)
        return "/".join((self._date(request), self._region_name, self._service_name, self._terminator))

    def scope(self, request: AWSRequest) -> str:
        return f"{self.credentials.access_key}/{self.credential_scope(request)}"

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        return self.signature_of(string_to_sign, self._date(request))

    def signature_of(self, string_to_sign: str, date: str) -> str:
        """The signature of a string to sign, with the key of a credential scope's date."""
        # botocore derives the signing key (four HMACs) for every request; it changes only with the date.
        scope = (self.credentials.secret_key, date)
        key = self._keys.get(scope)
        if key is None:
            key = self._sign(f"AWS4{scope[0]}".encode(), scope[1])
            for part in (self._region_name, self._service_name, self._terminator):
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
         region: str, at: datetime.datetime | None = None, *, scope_date: str | None = None,
         terminator: str = TERMINATOR) -> dict[str, str]:
    """The headers with a SigV4 signature added (X-Amz-Date, Authorization, a session token if any): now, or at
    `at`; for a credential scope of that day ending in `aws4_request`, or of `scope_date` and `terminator`."""
    request: AWSRequest | _Request
    if isinstance(body, bytes) and all(isinstance(value, str) and value.isascii() for value in headers.values()):
        request = _Request(method, url, headers, body)
    else:  # a str body, or values the email package treats specially (non-ASCII, surrogates): botocore's own
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    if at is None and scope_date is None and terminator == TERMINATOR:
        _signer(credentials, service, region).add_auth(request)
    else:
        timestamp = (at or datetime.datetime.now(datetime.UTC)).strftime(SIGV4_TIMESTAMP)
        _SigV4(credentials, service, region, timestamp, scope_date=scope_date, terminator=terminator).add_auth(request)
    return dict(request.headers.items())


def sign_now(method: str, url: str, headers: Mapping[str, str], body: bytes, credentials: Credentials, service: str,
             region: str, at: datetime.datetime | None = None) -> dict[str, str]:
    """`sign` now (or at `at`), for the usual scope: the same headers, from a template made once per request shape.

    Of a canonical request only the date and the body's hash change from one request to the next of
    a lane, so botocore builds it once per (method, URL, headers, credentials, scope) with a
    placeholder date, and each request fills in those two and signs (two SHA-256s and one HMAC,
    where botocore's whole signer cost several times that). Headers botocore treats specially
    (non-ASCII values, a given X-Amz-Content-SHA256) go to `sign`."""
    key = (method, url, tuple(headers.items()), id(credentials), credentials.access_key, credentials.token,
           service, region)
    template = _TEMPLATES.get(key)
    if template is None:
        if len(_TEMPLATES) >= 4096:  # a run of many shapes of headers: start afresh rather than grow
            _TEMPLATES.clear()
        template = _TEMPLATES[key] = _template(method, url, headers, credentials, service, region)
    if template is False:
        return sign(method, url, headers, body, credentials, service, region, at)
    signer, before, after, signed, out = template
    stamp = (at or botocore.auth.get_current_datetime()).strftime(SIGV4_TIMESTAMP)  # botocore's clock
    canonical = f"{before}{stamp}{after}{hashlib.sha256(body).hexdigest()}"
    scope = f"{stamp[:8]}/{region}/{service}/{TERMINATOR}"
    string_to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = signer.signature_of(string_to_sign, stamp[:8])
    return {**{name: stamp if value is _DATE else value for name, value in out},
            "Authorization": f"{ALGORITHM} Credential={credentials.access_key}/{scope}, SignedHeaders={signed}, "
                             f"Signature={signature}"}


_DATE = object()  # in a template's headers: where the request's X-Amz-Date goes
_PLACEHOLDER = "19700101T000000Z"
_Template = tuple["_SigV4", str, str, str, list[tuple[str, object]]]
_TEMPLATES: dict[tuple[object, ...], _Template | bool] = {}


def _template(method: str, url: str, headers: Mapping[str, str], credentials: Credentials, service: str,
              region: str) -> _Template | bool:
    """(signer, canonical request before the date, after it up to the body's hash, signed header names, the headers
    out with `_DATE` for the date), by botocore at a placeholder date; False where `sign` must do it all."""
    if not all(isinstance(value, str) and value.isascii() for value in headers.values()) \
            or any(name.lower() == CONTENT_SHA256.lower() for name in headers):
        return False
    signer = _signer(credentials, service, region)
    request = _Request(method, url, headers, b"")
    request.context["timestamp"] = _PLACEHOLDER
    signer._modify_request_before_signing(request)
    canonical, _, _ = signer.canonical_request(request).rpartition("\n")  # without the body's hash
    marker = f"\nx-amz-date:{_PLACEHOLDER}\n"
    if canonical.count(_PLACEHOLDER) != 1 or marker not in canonical:
        return False
    before, _, after = canonical.partition(marker)
    out = [(name, _DATE if value == _PLACEHOLDER and name == "X-Amz-Date" else value)
           for name, value in request.headers.items()]
    return (signer, f"{before}\nx-amz-date:", f"\n{after}\n",
            signer.signed_headers(signer.headers_to_sign(request)), out)


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
    """The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header, as
    sent: whatever its algorithm and scope say (a verifier judges them), and a part it leaves out empty."""

    algorithm: str
    credential: str  # access key id and credential scope: key/yyyymmdd/region/service/aws4_request
    signed_headers: tuple[str, ...]
    signature: str
    # The Credential's five parts; all empty unless it has exactly five.
    access_key: str = ""
    date: str = ""  # yyyymmdd of the credential scope
    region: str = ""
    service: str = ""  # the signing name
    terminator: str = ""  # aws4_request

    @property
    def scope(self) -> tuple[str, ...]:
        """The Credential's slash-delimited parts: five in a well-formed one."""
        return tuple(self.credential.split("/"))

    @property
    def missing(self) -> tuple[str, ...]:
        """The parts (of `AUTHORIZATION_PARTS`) the header leaves out or leaves empty."""
        given = {"Credential": self.credential, "SignedHeaders": self.signed_headers, "Signature": self.signature}
        return tuple(name for name in AUTHORIZATION_PARTS if not given[name])


def parse_authorization(value: str) -> Authorization | None:
    """The header's parts, or None when it is no algorithm followed by `Name=value` parts, each of `Credential`,
    `SignedHeaders` and `Signature` at most once (a part may be missing: see `Authorization.missing`)."""
    algorithm, _, rest = value.strip().partition(" ")
    if not algorithm:
        return None
    fields: dict[str, str] = {}
    for part in filter(None, (part.strip() for part in rest.split(","))):
        name, sep, item = part.partition("=")
        if not sep or name in fields or name not in AUTHORIZATION_PARTS:
            return None
        fields[name] = item
    credential, signed = fields.get("Credential", ""), fields.get("SignedHeaders", "")
    scope = credential.split("/")
    return Authorization(algorithm, credential, tuple(signed.split(";")) if signed else (), fields.get("Signature", ""),
                         *(scope if len(scope) == 5 else ()))


def expected_signature(method: str, url: str, headers: Mapping[str, str], body: bytes, credentials: Credentials,
                       auth: Authorization, timestamp: str) -> str:
    """The signature a client holding `credentials` would have sent for this request, over the headers it signed and
    for the credential scope it named."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    request.context["timestamp"] = timestamp
    signer = _SigV4(credentials, auth.service, auth.region, signed_headers=auth.signed_headers, scope_date=auth.date,
                    terminator=auth.terminator)
    return signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


def tamper(authorization: str) -> str:
    """The Authorization header with its signature's last hex digit changed: well formed, and wrong."""
    head, _, signature = authorization.rpartition("Signature=")
    if not signature:
        return authorization + "0"
    return f"{head}Signature={signature[:-1]}{'0' if signature[-1] != '0' else '1'}"


def without_part(authorization: str, name: str) -> str:
    """The Authorization header with one of its `Name=value` parts left out, the rest as they were."""
    algorithm, _, rest = authorization.partition(" ")
    kept = [part.strip() for part in rest.split(",") if part.strip().partition("=")[0] != name]
    return f"{algorithm} {', '.join(kept)}"
