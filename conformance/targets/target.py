"""A target: the endpoint under test, as data (URL, region, credentials, protocol)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.credentials import Credentials

from conformance.model.job_apis import JobSetup
from conformance.wire.credentials import DUMMY_CREDENTIALS


class TargetError(ValueError):
    """The target's description is unusable (a bad URL, no credentials)."""


def is_aws_host(url: str) -> bool:
    """Whether a URL's host is an AWS service endpoint."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # an unparseable URL (`http://[::1`) names no host at all
        return False
    return host.rstrip(".").endswith((".amazonaws.com", ".amazonaws.com.cn"))  # `host.` is the same host


# The user info in a URL's authority: `scheme://user:password@`, up to the authority's last `@`.
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")


def is_loopback_host(url: str) -> bool:
    """Whether a URL's host is this machine's loopback (localhost, 127.0.0.0/8, ::1)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address: only `localhost` is loopback by definition
        return False


def hide_userinfo(text: str) -> str:
    """Text (a URL, or a message quoting one) with the user name and password before a URL's `@` hidden."""
    return _USERINFO.sub(r"\1***@", text)


@dataclass(frozen=True)
class Target:
    """The endpoint under test."""

    url: str  # the endpoint of every service not in service_urls
    region: str = "us-east-1"
    credentials: Credentials | None = DUMMY_CREDENTIALS  # None: send unsigned
    name: str = "endpoint"
    creates_jobs: bool = True  # whether the suite may start jobs there
    service_urls: tuple[tuple[str, str], ...] = ()  # (botocore service name, URL): a service's own endpoint
    credentials_to_custom_endpoint: bool = False  # real credentials may sign for a host outside AWS
    job_setup: JobSetup | None = None  # the S3 data and role real jobs need; None: the APIs' placeholder example

    def __post_init__(self) -> None:
        for url in self.urls():
            _check_url(url)
        if not self.has_real_credentials:
            return
        # Over plain http a signed request can be read, and replayed within its five minutes, on the way.
        plain = [url for url in self.urls() if is_aws_host(url) and urlsplit(url).scheme != "https"]
        if plain:
            raise TargetError(f"{plain[0]} is an AWS endpoint over plain http: real AWS credentials are sent to AWS "
                              "only over https")
        outside = [url for url in self.urls() if not is_aws_host(url)]
        if outside and not self.credentials_to_custom_endpoint:
            raise TargetError(f"{outside[0]} is not an AWS endpoint: real AWS credentials are not sent there "
                              "unless --allow-credentials-to-custom-endpoint says so")

    def urls(self) -> list[str]:
        """Every endpoint URL of the target."""
        return [self.url] + [url for _, url in self.service_urls if url != self.url]

    def endpoint(self, service: str) -> str:
        """The endpoint URL for a botocore service name."""
        return dict(self.service_urls).get(service, self.url)

    @property
    def has_real_credentials(self) -> bool:
        """Whether the target signs with credentials of its own (not the suite's dummy pair, not unsigned)."""
        return self.credentials is not None and self.credentials is not DUMMY_CREDENTIALS

    @property
    def is_aws(self) -> bool:
        """Whether every endpoint is an AWS service endpoint."""
        return all(is_aws_host(url) for url in self.urls())

    @property
    def is_local(self) -> bool:
        """Whether every endpoint is on this machine's loopback (moto, the embedded reference server, a local mock)."""
        return all(is_loopback_host(url) for url in self.urls())

    def with_changes(self, **changes: object) -> Target:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> dict[str, object]:
        """The target for reports: no secrets."""
        described: dict[str, object] = {"url": self.url, "region": self.region, "name": self.name,
                                        "signed": self.credentials is not None}
        if self.service_urls:
            described["service_urls"] = dict(self.service_urls)
        return described


def _check_url(url: str) -> None:
    """TargetError unless `url` is a bare http(s) endpoint; no message quotes a user name or password."""
    shown = hide_userinfo(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed `[` of an IPv6 address, say
        raise TargetError(f"endpoint URL {shown!r} cannot be read: {exc}") from None
    if "@" in parts.netloc:
        # requests would send it as `Authorization: Basic` in place of the SigV4 header, and reports would show it.
        raise TargetError(f"endpoint URL {shown!r} carries a user name or password before its host: leave them "
                          "out (requests are signed with SigV4)")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"endpoint URL {url!r} must be http:// or https:// with a host")
    if parts.query or parts.fragment:
        raise TargetError(f"endpoint URL {url!r} must not have a query or fragment")
    try:
        _ = parts.port  # urllib raises ValueError here for a port out of range
    except ValueError:
        raise TargetError(f"endpoint URL {url!r} has an invalid port") from None
