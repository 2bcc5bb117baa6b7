"""Sending requests: keep-alive, SigV4 signing via botocore, retries on connection errors, a rate cap."""

from __future__ import annotations

import random
import threading
import time

import requests
from requests.adapters import HTTPAdapter
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from conformance.target import Target
from conformance.wire import HttpRequest, HttpResponse


class TargetUnreachable(ConnectionError):
    """The target did not answer at all, after every retry."""


class RateLimiter:
    """At most `rate` requests a second across all threads (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may go."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


def backoff(attempt: int, base: float = 0.1, cap: float = 5.0) -> float:
    """Exponential backoff with full jitter: a random time in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))


class Transport:
    """Sends HttpRequests to one target over a pooled keep-alive session."""

    def __init__(self, target: Target, *, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 connection_retries: int = 3, rate: float | None = None, pool_size: int = 16) -> None:
        self.target = target
        self.timeout = (connect_timeout, read_timeout)
        self.connection_retries = connection_retries
        self.limiter = RateLimiter(rate)
        self.session = requests.Session()
        # Proxies from the environment are resolved once: with trust_env, requests rescans the
        # environment (and ~/.netrc) on every request, which costs more than sending it.
        self.session.proxies = requests.utils.get_environ_proxies(target.url)
        self.session.trust_env = False
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.sent = 0
        self._count_lock = threading.Lock()

    def url_for(self, request: HttpRequest) -> str:
        """The absolute URL of a request."""
        return self.target.url.rstrip("/") + request.path

    def prepare(self, request: HttpRequest, signing_name: str) -> dict[str, str]:
        """The headers to send: the request's own, plus a SigV4 signature when the target has credentials."""
        if self.target.credentials is None:
            return dict(request.headers)
        aws_request = AWSRequest(method=request.method, url=self.url_for(request), data=request.body,
                                 headers=dict(request.headers))
        SigV4Auth(self.target.credentials, signing_name, self.target.region).add_auth(aws_request)
        return dict(aws_request.headers.items())

    def send(self, request: HttpRequest, signing_name: str) -> HttpResponse:
        """Send once (retrying only when no answer came); raises TargetUnreachable."""
        last_error: Exception | None = None
        for attempt in range(self.connection_retries + 1):
            if attempt:
                time.sleep(backoff(attempt))
            self.limiter.wait()
            headers = self.prepare(request, signing_name)  # re-signed per attempt: the date moves
            began = time.monotonic()
            try:
                response = self.session.request(request.method, self.url_for(request), data=request.body,
                                                headers=headers, timeout=self.timeout, allow_redirects=False)
                body = response.content
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_error = exc
                continue
            with self._count_lock:
                self.sent += 1
            return HttpResponse(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body,
                                time.monotonic() - began)
        reason = _reason(last_error)
        raise TargetUnreachable(f"{self.target.url} did not answer after {self.connection_retries + 1} attempts: {reason}")

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()


def _reason(error: Exception | None) -> str:
    text = str(error) if error else "unknown error"
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text[:200]
