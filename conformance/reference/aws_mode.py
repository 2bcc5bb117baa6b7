"""An AWS-like front door for the reference server: SigV4 checked against known test keys (or a key pair it is
given), and a rate limit.

Both are off unless asked for (`conformance serve --enforce-sigv4 --throttle RATE`). They answer
as AWS JSON services do (PROTOCOL_NOTES §4): 400 with MissingAuthenticationTokenException,
IncompleteSignatureException, UnrecognizedClientException, InvalidSignatureException or
ThrottlingException. The signature itself is recomputed by botocore (`conformance.sigv4`).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType

from botocore.credentials import Credentials

from conformance.reference.answers import ApiError
from conformance.wire.credentials import DUMMY_CREDENTIALS
from conformance.wire.http import HttpRequest
from conformance.wire.sigv4 import ALGORITHM, TERMINATOR, Authorization, expected_signature, parse_authorization

# The public aws-sig-v4-test-suite key pair (PROTOCOL_NOTES §7).
SIGV4_TEST_SUITE_CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
# Temporary credentials, so that clients can test sending X-Amz-Security-Token.
TEST_SESSION_CREDENTIALS = Credentials("ASIACONFORMANCETEST", "conformance-session-secret",
                                       "conformance-session-token")

# Access key id -> credentials the server accepts; all are public test values, none reach AWS.
TEST_CREDENTIALS: Mapping[str, Credentials] = MappingProxyType({
    credentials.access_key: credentials
    for credentials in (DUMMY_CREDENTIALS, SIGV4_TEST_SUITE_CREDENTIALS, TEST_SESSION_CREDENTIALS)
})

AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# How far X-Amz-Date may be from the server's clock, either way. AWS's own figure differs by source: the IAM guide
# says a request must arrive "within five minutes" of its time stamp "in most cases", and CloudFormation (a query
# service) answered "- 5 min." in 2013 (botocore#149); DynamoDB, a JSON service on the same front end as
# Comprehend, answered "- 15 min." (recorded in dynalite's source), and PROTOCOL_NOTES §7 takes 15. The reference
# takes the most a conforming AWS JSON service allows, 15: a suite whose skew cases a 15-minute server serves
# would then fail here too, and a client whose clock drifts by a few minutes is served as AWS serves it.
DEFAULT_MAX_SKEW = datetime.timedelta(minutes=15)
INVALID_TOKEN = "The security token included in the request is invalid."
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                      "for details.")


def utc_now() -> datetime.datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.datetime.now(datetime.UTC)


def _incomplete(message: str) -> ApiError:
    return ApiError("IncompleteSignatureException", 400, message)


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidSignatureException", 400, message)


def _same(sent: str | None, expected: str | None) -> bool:
    """Constant-time equality of two header values (None only equals None)."""
    if sent is None or expected is None:
        return sent is expected
    # surrogateescape: a header value may hold any byte the client sent, never an encoding error here
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


class SigV4Verifier:
    """Checks that a request is SigV4-signed with one of `credentials`, recently, for this region and service.

    Each check is a method of its own, so that a variant can leave one out (`variants.signing`). In
    order: the header's form, its algorithm, X-Amz-Date and the headers that must be signed
    (IncompleteSignatureException); the credential scope (InvalidSignatureException, every wrong part
    named, before the key is looked up, as DynamoDB's recorded answers in dynalite's source have it);
    the key and token (UnrecognizedClientException); the clock, the body's hash and the signature
    (InvalidSignatureException). DynamoDB checks the clock before the key, and answered an unsigned
    `host` with InvalidSignatureException; a request with one thing wrong, as each of the suite's
    cases has, is refused here all the same.
    """

    def __init__(self, credentials: Mapping[str, Credentials] = TEST_CREDENTIALS,
                 now: Callable[[], datetime.datetime] = utc_now,
                 max_skew: datetime.timedelta = DEFAULT_MAX_SKEW) -> None:
        self.credentials, self.now, self.max_skew = credentials, now, max_skew

    @property
    def access_keys(self) -> list[str]:
        """The accepted access key ids (never the secrets), for banners and logs."""
        return sorted(self.credentials)

    def verify(self, request: HttpRequest, services: Collection[str], region: str) -> None:
        """Raise the ApiError AWS would answer unless the request is signed for `region` and one of `services`
        (signing names)."""
        header = request.header("Authorization")
        if header is None:
            raise ApiError("MissingAuthenticationTokenException", 400, "Missing Authentication Token")
        auth = self.read_authorization(header)
        amz_date, signed_at = self._timestamp(request, auth)
        wrong = [problem for problem in (self.region_problem(auth, region), self.service_problem(auth, services),
                                         self.terminator_problem(auth), self.date_problem(auth, amz_date)) if problem]
        if wrong:
            raise _invalid(" ".join(wrong))
        credentials = self.credentials_for(request, auth)
        self.check_fresh(amz_date, signed_at)
        self.check_content_hash(request)
        self.check_signature(request, auth, credentials, amz_date)

    def read_authorization(self, header: str) -> Authorization:
        """The header's parts; IncompleteSignatureException unless it has them all, of the one algorithm, with a
        credential of five parts."""
        auth = parse_authorization(header)
        if auth is None:
            raise _incomplete(f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                              f"parameters of the {ALGORITHM} algorithm. Authorization={header}")
        missing = self.missing_parts(auth)
        if missing:
            raise _incomplete(" ".join(f"Authorization header requires '{name}' parameter." for name in missing)
                              + f" Authorization={header}")
        problem = self.algorithm_problem(auth)
        if problem:
            raise _incomplete(problem)
        if len(auth.scope) != 5 or not all(auth.scope):
            raise _incomplete(f"Credential must have exactly 5 slash-delimited elements, e.g. "
                              f"keyid/date/region/service/term, got '{auth.credential}'")
        return auth

    def missing_parts(self, auth: Authorization) -> tuple[str, ...]:
        """The parts (Credential, SignedHeaders, Signature) the header lacks."""
        return auth.missing

    def algorithm_problem(self, auth: Authorization) -> str | None:
        """What is wrong with the header's algorithm, if anything: only AWS4-HMAC-SHA256 is SigV4's."""
        if auth.algorithm == ALGORITHM:
            return None
        return f"Unsupported AWS 'algorithm': '{auth.algorithm}' (only {ALGORITHM} for now)."

    def region_problem(self, auth: Authorization, region: str) -> str | None:
        """What is wrong with the scope's region, if anything: it must be the server's own."""
        return None if auth.region == region else f"Credential should be scoped to a valid region, not '{auth.region}'."

    def service_problem(self, auth: Authorization, services: Collection[str]) -> str | None:
        """What is wrong with the scope's service, if anything: it must be one the request may be signed for."""
        if not services:  # the request names no service this server knows (see `ReferenceApp.signing_services`)
            return "Credential should be scoped to a valid service."
        if auth.service in services:
            return None
        return "Credential should be scoped to correct service: " + " or ".join(
            f"'{name}'" for name in sorted(services)) + "."

    def terminator_problem(self, auth: Authorization) -> str | None:
        """What is wrong with the scope's terminator, if anything: it must be aws4_request."""
        if auth.terminator == TERMINATOR:
            return None
        return f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{auth.terminator}'."

    def date_problem(self, auth: Authorization, amz_date: str) -> str | None:
        """What is wrong with the scope's date, if anything: it must be X-Amz-Date's day."""
        if auth.date == amz_date[:8]:
            return None
        return (f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{auth.date}' != '{amz_date[:8]}', from '{amz_date}'.")

    def credentials_for(self, request: HttpRequest, auth: Authorization) -> Credentials:
        """The key pair the request names, with the session token it must carry; UnrecognizedClientException for a
        key this server does not know, or a token that is not the key's."""
        credentials = self.credentials.get(auth.access_key)
        if credentials is None or not _same(request.header("X-Amz-Security-Token"), credentials.token):
            raise ApiError("UnrecognizedClientException", 400, INVALID_TOKEN)
        return credentials

    @staticmethod
    def _timestamp(request: HttpRequest, auth: Authorization) -> tuple[str, datetime.datetime]:
        """X-Amz-Date as sent and as a time, once it is known to be signed."""
        amz_date = request.header("X-Amz-Date")
        if amz_date is None:
            raise _incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                              f"Authorization={request.header('Authorization')}")
        try:
            signed_at = datetime.datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=datetime.UTC)
        except ValueError:
            raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                              "See http://en.wikipedia.org/wiki/ISO_8601") from None
        for name in ("host", "x-amz-date"):
            if name not in auth.signed_headers:
                raise _incomplete(f"'{name}' must be a 'SignedHeader' in the AWS Authorization.")
        return amz_date, signed_at

    def check_fresh(self, amz_date: str, signed_at: datetime.datetime) -> None:
        """A signature is good for `max_skew` either side of the server's clock (AWS's wording)."""
        now = self.now()
        problem = self.expired_problem(amz_date, signed_at, now) or self.future_problem(amz_date, signed_at, now)
        if problem:
            raise _invalid(problem)

    def expired_problem(self, amz_date: str, signed_at: datetime.datetime, now: datetime.datetime) -> str | None:
        """What is wrong with a signature made more than `max_skew` ago, if it was."""
        if signed_at >= now - self.max_skew:
            return None
        earliest = (now - self.max_skew).strftime(AMZ_DATE_FORMAT)
        return (f"Signature expired: {amz_date} is now earlier than {earliest} "
                f"({now.strftime(AMZ_DATE_FORMAT)} - {self.max_skew.total_seconds() / 60:g} min.)")

    def future_problem(self, amz_date: str, signed_at: datetime.datetime, now: datetime.datetime) -> str | None:
        """What is wrong with a signature dated more than `max_skew` ahead, if it is."""
        if signed_at <= now + self.max_skew:
            return None
        latest = (now + self.max_skew).strftime(AMZ_DATE_FORMAT)
        return (f"Signature not yet current: {amz_date} is still later than {latest} "
                f"({now.strftime(AMZ_DATE_FORMAT)} + {self.max_skew.total_seconds() / 60:g} min.)")

    def check_content_hash(self, request: HttpRequest) -> None:
        """A client's X-Amz-Content-SHA256, if sent, must be the hash of the body received.

        botocore's signer takes that header (even UNSIGNED-PAYLOAD) as the body's hash unchecked,
        which would let a signed request carry any body.
        """
        content_hash = request.header("X-Amz-Content-SHA256")
        if content_hash is not None and not _same(content_hash, hashlib.sha256(request.body).hexdigest()):
            raise _invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")

    def check_signature(self, request: HttpRequest, auth: Authorization, credentials: Credentials,
                        amz_date: str) -> None:
        """The signature must be the one botocore computes over the request received, for the scope it names."""
        url = f"http://{request.header('Host') or ''}{request.path}"
        try:
            expected = expected_signature(request.method, url, request.headers, request.body, credentials, auth,
                                          amz_date)
        except ValueError:  # a Host or path that is no URL (urllib refuses it) was not signed by a real client
            raise _invalid(SIGNATURE_MISMATCH) from None
        if not _same(auth.signature, expected):
            raise _invalid(SIGNATURE_MISMATCH)


class Throttle:
    """A token bucket shared by every connection: `rate` requests a second, bursts up to max(1, rate)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 retry_after: float | None = None) -> None:
        if not 0 < rate < math.inf:
            raise ValueError(f"rate must be a number of requests per second > 0, not {rate!r}")
        if retry_after is not None and not 0 <= retry_after < math.inf:
            raise ValueError(f"retry_after must be a number of seconds >= 0, not {retry_after!r}")
        self.rate, self.capacity, self.clock, self.retry_after = rate, max(1.0, rate), clock, retry_after
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take one token if there is one; False when the request is over the rate."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.capacity, self._tokens + max(0.0, now - self._last) * self.rate)
            self._last = max(now, self._last)  # a clock that steps back must not mint tokens later
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def acquire(self) -> None:
        """Take one token, or raise 400 ThrottlingException ("Rate exceeded"), with Retry-After if configured."""
        if self.try_acquire():
            return
        # HTTP's Retry-After holds whole seconds: round up, so that a client that obeys it is served.
        headers = {} if self.retry_after is None else {"Retry-After": str(math.ceil(self.retry_after))}
        raise ApiError("ThrottlingException", 400, "Rate exceeded", headers=headers)
