"""A target: the endpoint under test, as data (URL, region, credentials, protocol)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.credentials import Credentials

# Non-AWS endpoints (the reference server, mocks) get these; moto routes by the credential scope,
# so requests must be signed, but nothing checks the key.
DUMMY_CREDENTIALS = Credentials("AKIDCONFORMANCESUITE", "conformance-suite-dummy-secret")


class TargetError(ValueError):
    """The target's description is unusable (a bad URL, no credentials)."""


@dataclass(frozen=True)
class Target:
    """The endpoint under test."""

    url: str
    region: str = "us-east-1"
    credentials: Credentials | None = DUMMY_CREDENTIALS  # None: send unsigned
    name: str = "endpoint"
    creates_jobs: bool = True  # whether the suite may start jobs there

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetError(f"endpoint URL {self.url!r} must be http:// or https:// with a host")
        if parts.query or parts.fragment:
            raise TargetError(f"endpoint URL {self.url!r} must not have a query or fragment")
        try:
            _ = parts.port  # urllib raises ValueError here for a port out of range
        except ValueError:
            raise TargetError(f"endpoint URL {self.url!r} has an invalid port") from None

    @property
    def is_aws(self) -> bool:
        """Whether the URL is an AWS service endpoint."""
        host = urlsplit(self.url).hostname or ""
        return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))

    def describe(self) -> dict[str, object]:
        """The target for reports: no secrets."""
        return {"url": self.url, "region": self.region, "name": self.name, "signed": self.credentials is not None}
