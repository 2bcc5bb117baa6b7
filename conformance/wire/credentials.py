"""The suite's own credentials, for endpoints outside AWS."""

from __future__ import annotations

from botocore.credentials import Credentials

# Non-AWS endpoints (the reference server, mocks) get these; moto routes by the credential scope,
# so requests must be signed, but nothing checks the key.
DUMMY_CREDENTIALS = Credentials("AKIDCONFORMANCESUITE", "conformance-suite-dummy-secret")
