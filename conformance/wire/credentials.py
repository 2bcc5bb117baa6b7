"""The suite's own credentials, for endpoints outside AWS."""

from __future__ import annotations

from botocore.credentials import Credentials

# Non-AWS endpoints (the reference server, mocks) get these; moto routes by the credential scope,
# so requests must be signed, but nothing checks the key.
DUMMY_CREDENTIALS = Credentials("AKIDCONFORMANCESUITE", "conformance-suite-dummy-secret")
# An access key id nobody has, signing with the dummy secret (the suite's `auth.unknown_key` case): made up and public
# like the dummy pair, so that a real user's secret never signs a request meant to be refused.
UNKNOWN_KEY_CREDENTIALS = Credentials("AKIDCONFORMANCENOKEY", DUMMY_CREDENTIALS.secret_key)
