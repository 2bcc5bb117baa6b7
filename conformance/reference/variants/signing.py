"""Signing faults: a SigV4 verifier that checks only part of what it must (the suite's signing matrix catches each).

Each variant enforces SigV4 (`Variant.enforce_sigv4`) with a verifier that leaves out one check of
`aws_mode.SigV4Verifier`, or reads one thing too leniently, and keeps the verifier's keys, clock and
allowed skew (under `conformance serve`, those of `--sigv4-credentials-from-environment` too).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from botocore.credentials import Credentials

from conformance.reference.aws_mode import SigV4Verifier
from conformance.reference.variants.core import Family, Variant, VariantApp, register
from conformance.wire.credentials import DUMMY_CREDENTIALS
from conformance.wire.http import HttpRequest
from conformance.wire.sigv4 import Authorization

# A request the fault lets through reaches the job lookup: its answer is the not-found error, not an
# authentication error.
CAUGHT_BY = frozenset({"error_type"})
# The headers a client of these services signs: `host`, the protocols' own, and AWS's `x-amz-*`.
KNOWN_HEADERS = frozenset({"host", "content-type", "accept", "smithy-protocol"})


def _serving_with(verifier: type[SigV4Verifier], max_skew: datetime.timedelta | None = None) \
        -> Callable[[VariantApp], None]:
    """A configure function that puts `verifier` in place of the app's, with the same keys, clock and skew (or
    `max_skew`)."""
    def configure(app: VariantApp) -> None:
        given = app.verifier if app.verifier is not None else SigV4Verifier()
        app.verifier = verifier(given.credentials, given.now, max_skew or given.max_skew)
    return configure


def _without(check: str) -> type[SigV4Verifier]:
    """The verifier with one of its checks left out: that step finds nothing wrong, whatever the request."""
    return type(f"SigV4VerifierWithout_{check}", (SigV4Verifier,), {check: lambda self, *args: None})


for _name, _check, _text in (
    ("sigv4_any_region", "region_problem",
     "does not check the credential scope's region (the signing key is derived for whichever the client names)"),
    ("sigv4_any_service", "service_problem",
     "does not check the credential scope's service (the signing key is derived for whichever the client names)"),
    ("sigv4_scope_date_unchecked", "date_problem",
     "does not check that the credential scope's date is X-Amz-Date's day"),
    ("sigv4_any_terminator", "terminator_problem", "accepts a credential scope ending in any terminator"),
    ("sigv4_no_clock_skew", "check_fresh", "ignores the clock: a signature made at any time is good"),
    ("sigv4_future_dates_accepted", "future_problem",
     "refuses a signature made too long ago, but not one dated ahead of its clock"),
    ("sigv4_trusts_content_hash", "check_content_hash",
     "takes X-Amz-Content-SHA256 as the body's hash without hashing the body, as botocore's signer does: the "
     "body can be changed after signing"),
    ("sigv4_any_algorithm", "algorithm_problem",
     "accepts any algorithm name (AWS4-HMAC-SHA512), checking the signature as AWS4-HMAC-SHA256's"),
):
    register(Variant(_name, Family.SIGNING, _text, CAUGHT_BY, configure=_serving_with(_without(_check)),
                     enforce_sigv4=True))


class _AnyAccessKey(SigV4Verifier):
    """Takes an access key id it does not know as one more key, of the one secret a mock is configured with."""

    def credentials_for(self, request: HttpRequest, auth: Authorization) -> Credentials:
        """The known key's pair, or the dummy secret for any other key id."""
        if auth.access_key in self.credentials:
            return super().credentials_for(request, auth)
        return Credentials(auth.access_key, DUMMY_CREDENTIALS.secret_key)


class _KnownHeadersOnly(SigV4Verifier):
    """Checks a signature only over the headers it knows how to read: a request that also signs another one is
    taken on its key, scope and date, as a front end does that passes on what it cannot check."""

    def check_signature(self, request: HttpRequest, auth: Authorization, credentials: Credentials,
                        amz_date: str) -> None:
        """The reference's check, where every signed header is a known one."""
        if all(name in KNOWN_HEADERS or name.startswith("x-amz-") for name in auth.signed_headers):
            super().check_signature(request, auth, credentials, amz_date)


class _SignatureOptional(SigV4Verifier):
    """Reads an Authorization header without its Signature as complete, and checks a signature only where one is
    given."""

    def missing_parts(self, auth: Authorization) -> tuple[str, ...]:
        """The missing parts, but Signature."""
        return tuple(name for name in auth.missing if name != "Signature")

    def check_signature(self, request: HttpRequest, auth: Authorization, credentials: Credentials,
                        amz_date: str) -> None:
        """The reference's check, where the header has a signature."""
        if auth.signature:
            super().check_signature(request, auth, credentials, amz_date)


for _name, _verifier, _text in (
    ("sigv4_any_access_key", _AnyAccessKey,
     "accepts any access key id, checking its signature with the one secret it was configured with (the suite's "
     "dummy secret), as mocks do"),
    ("sigv4_known_headers_only", _KnownHeadersOnly,
     "checks the signature only when every signed header is one it knows (host, content-type, accept, "
     "smithy-protocol, x-amz-*): a signed header of another name can be changed after signing"),
    ("sigv4_signature_optional", _SignatureOptional,
     "accepts an Authorization header without its Signature part, checking a signature only where one is given"),
):
    register(Variant(_name, Family.SIGNING, _text, CAUGHT_BY, configure=_serving_with(_verifier), enforce_sigv4=True))

# Within the hour of `auth.expired_date`, past the 15 minutes AWS allows: only the 20-minute cases catch it.
register(Variant("sigv4_skew_30_minutes", Family.SIGNING, "allows 30 minutes of clock skew either way, not 15",
                 CAUGHT_BY, configure=_serving_with(SigV4Verifier, datetime.timedelta(minutes=30)),
                 enforce_sigv4=True))
