"""Sending requests: keep-alive, SigV4 signing via botocore, retries on connection errors, an adaptive rate cap,
a request budget, and the job-id guard (`safety`)."""

from __future__ import annotations

import collections
import datetime
import logging
import random
import threading
import time

import urllib.request
from urllib.parse import urlsplit

import urllib3
from botocore.httpsession import get_cert_path
from urllib3.exceptions import HTTPError as Urllib3Error

from conformance import sigv4
from conformance.model import ServiceMeta
from conformance.redaction import redact_headers
from conformance.safety import JobLedger, UnsafeRequest
from conformance.target import Target, is_aws_host
from conformance.wire import HttpRequest, HttpResponse


log = logging.getLogger(__name__)


class Unanswered(ConnectionError):
    """A request got no answer: the connection failed or closed before a status line, or the read timed out."""


MAX_ANSWER_BYTES = 4 << 20  # an answer body is read up to this; a longer one is judged on its first bytes


class BudgetExhausted(Exception):
    """The run's request budget is spent; the request was not sent."""


class Budget:
    """At most `limit` requests in a run (None: no limit); thread-safe."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.spent = 0
        self._lock = threading.Lock()

    def spend(self, essential: bool = False) -> None:
        """Count one request, or raise BudgetExhausted; an essential one (stopping a started job) always goes."""
        with self._lock:
            if self.limit is not None and self.spent >= self.limit and not essential:
                raise BudgetExhausted(f"the budget of {self.limit} requests is spent")
            self.spent += 1

    @property
    def remaining(self) -> int | None:
        """Requests left (None: no limit)."""
        with self._lock:
            return None if self.limit is None else max(self.limit - self.spent, 0)


class RateLimiter:
    """At most `rate` requests a second across all threads (None: no limit), lowered while the target throttles.

    When more than a fifth of the last `WINDOW` seconds' requests were throttled, the rate drops to
    90% of what the target accepted in that time (at most once per `cooldown`): the target's own
    limit, measured. Sporadic throttles (fewer) lower nothing; their retries back off. Each answer
    that is not throttled raises the rate by about 5% a second, never above the rate asked for.
    """

    MIN_RATE = 0.5
    WINDOW = 2.0  # seconds over which sent and throttled requests are counted
    THROTTLED_SHARE = 0.2  # above this share of throttled requests, the rate is lowered
    GROWTH = 0.05  # per second, while answers are not throttled

    def __init__(self, rate: float | None, cooldown: float = 0.5) -> None:
        self.ceiling = rate
        self.rate = rate
        self.cooldown = cooldown
        self.throttles = 0
        self.lowest: float | None = None  # the lowest rate throttling brought it to
        self._next = 0.0
        self._last_cut = -float("inf")
        self._sent: collections.deque[float] = collections.deque(maxlen=4096)
        self._throttled: collections.deque[float] = collections.deque(maxlen=4096)
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may go."""
        with self._lock:
            now = time.monotonic()
            self._sent.append(now)
            if not self.rate:
                return
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
        if slot > now:
            time.sleep(slot - now)

    def throttled(self) -> None:
        """The target throttled a request: lower the rate to what it accepts, if it throttles much."""
        with self._lock:
            now = time.monotonic()
            self.throttles += 1
            self._throttled.append(now)
            if now - self._last_cut < self.cooldown:
                return
            sent = [t for t in self._sent if now - t <= self.WINDOW]
            throttled = sum(1 for t in self._throttled if now - t <= self.WINDOW)
            if len(sent) < 10 or throttled <= self.THROTTLED_SHARE * len(sent):
                return
            self._last_cut = now
            accepted = (len(sent) - throttled) / max(now - sent[0], 0.05)
            lowered = max(0.9 * accepted, self.MIN_RATE)
            self.rate = lowered if self.rate is None else min(self.rate, lowered)
            self.lowest = self.rate if self.lowest is None else min(self.lowest, self.rate)

    def answered(self) -> None:
        """The target answered without throttling: raise a lowered rate a little."""
        with self._lock:
            if self.lowest is None or not self.rate:
                return
            raised = self.rate * (1 + self.GROWTH / max(self.rate, 1.0))  # about GROWTH a second at this rate
            self.rate = raised if self.ceiling is None else min(raised, self.ceiling)


def backoff(attempt: int, base: float = 0.1, cap: float = 5.0) -> float:
    """Exponential backoff with full jitter: a random time in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))


# How a request is signed: the normal way, or wrongly on purpose (the authentication cases).
SIGNINGS = ("sigv4", "unsigned", "bad_signature", "expired_date")
EXPIRED_BY = datetime.timedelta(hours=1)  # far past the 5 minutes of clock skew SigV4 allows


class Transport:
    """Sends HttpRequests to one target over a pooled keep-alive session."""

    def __init__(self, target: Target, *, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 connection_retries: int = 1, rate: float | None = None, pool_size: int = 16,
                 budget: int | None = None) -> None:
        self.target = target
        self.timeout = (connect_timeout, read_timeout)
        self.connection_retries = connection_retries
        self.limiter = RateLimiter(rate)
        self.budget = Budget(budget)
        self.jobs = JobLedger()
        # urllib3's pool directly, not `requests`: requests' per-request work (merging settings, preparing,
        # hooks) cost more than sending the request. Proxies from the environment are resolved once.
        self._managers: list[urllib3.PoolManager] = []
        # endpoint -> (pool, the length of the URL prefix the pool takes off: 0 for a proxy, which takes whole URLs)
        self._pools: dict[str, tuple[urllib3.PoolManager | urllib3.HTTPConnectionPool, int]] = {}
        for url in target.urls():
            proxy = _environ_proxy(url)
            options = {"maxsize": pool_size, "block": False, "retries": False,
                       "cert_reqs": "CERT_REQUIRED", "ca_certs": get_cert_path(True)}
            manager = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
            self._managers.append(manager)
            # Without a proxy, the endpoint's own pool takes the path: no URL parsing and pool lookup per request.
            origin = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
            self._pools[url] = (manager, 0) if proxy else (manager.connection_from_url(url), len(origin))
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.sent = 0
        self.first_sent_at: float | None = None  # monotonic: when the first request went out
        self.last_answer_at: float | None = None  # monotonic: when the last answer was read
        self._count_lock = threading.Lock()

    def url_for(self, request: HttpRequest, service: ServiceMeta) -> str:
        """The absolute URL of a request to a service."""
        return self.target.endpoint(service.name).rstrip("/") + request.path

    def prepare(self, request: HttpRequest, service: ServiceMeta, signing: str = "sigv4") -> dict[str, str]:
        """The headers to send: the request's own, plus a SigV4 signature (or a broken one) when the target has credentials."""
        if signing not in SIGNINGS:
            raise ValueError(f"unknown signing {signing!r} (known: {', '.join(SIGNINGS)})")
        credentials = self.target.credentials
        if credentials is None or signing == "unsigned":
            return dict(request.headers)
        url = self.url_for(request, service)
        if self.target.has_real_credentials and not is_aws_host(url) and not self.target.credentials_to_custom_endpoint:
            raise UnsafeRequest(f"not sent: real credentials do not sign for {url}, outside AWS")
        at = datetime.datetime.now(datetime.UTC) - EXPIRED_BY if signing == "expired_date" else None
        headers = sigv4.sign(request.method, url, request.headers, request.body, credentials, service.signing_name,
                             self.target.region, at=at)
        if signing == "bad_signature":
            headers["Authorization"] = sigv4.tamper(headers["Authorization"])
        return headers

    def send(self, request: HttpRequest, service: ServiceMeta, *, signing: str = "sigv4", starts_job: bool = False,
             essential: bool = False) -> HttpResponse:
        """Send, retrying `connection_retries` times only when no answer came; raises Unanswered, BudgetExhausted,
        UnsafeRequest.

        Only a Start (`starts_job`) may carry a string of the real job-id form the run did not create;
        an `essential` request (stopping a job the run started) is sent even past the budget.
        """
        if not starts_job:
            self.jobs.check(request.body, request.header("Content-Type"))
        url = self.url_for(request, service)
        pool, origin = self._pools[self.target.endpoint(service.name)]
        address = url[origin:]
        last_error: Exception | None = None
        for attempt in range(self.connection_retries + 1):
            if attempt:
                time.sleep(backoff(attempt))
            self.budget.spend(essential)
            self.limiter.wait()
            headers = self.prepare(request, service, signing)  # re-signed per attempt: the date moves
            began = time.monotonic()
            try:
                response = pool.urlopen(request.method, address, body=request.body, headers=headers, retries=False,
                                        redirect=False, timeout=self._timeout, preload_content=False,
                                        decode_content=True)
            except (Urllib3Error, OSError) as exc:  # refused, reset, closed before a status line, timed out
                last_error = exc
                continue
            with self._count_lock:
                self.sent += 1
                self.first_sent_at = self.first_sent_at if self.first_sent_at is not None else began
            # A status line came and then the body broke or overflowed: still an answer, and it is judged.
            body, read_error = _read_bounded(response)
            self.last_answer_at = time.monotonic()
            answer_headers = {name.lower(): value for name, value in response.headers.items()}
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s %s %r -> %s %s %r", request.method, url, redact_headers(headers), request.body[:200],
                          response.status, redact_headers(answer_headers), body[:200])
            return HttpResponse(response.status, answer_headers, body, time.monotonic() - began, body_error=read_error)
        raise Unanswered(f"{url} gave no answer ({self.connection_retries + 1} attempts): {_reason(last_error)}")

    def close(self) -> None:
        """Close pooled connections."""
        for manager in self._managers:
            manager.clear()


def _environ_proxy(url: str) -> str | None:
    """The proxy the environment names for a URL (HTTP(S)_PROXY, NO_PROXY), as requests resolved it."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def _read_bounded(response: urllib3.BaseHTTPResponse) -> tuple[bytes, str | None]:
    """The body, at most MAX_ANSWER_BYTES of it (decompressed), and why it is incomplete if it is."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.stream(65536, decode_content=True):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                response.close()  # the rest is never read: this connection is not reused
                return b"".join(chunks)[:MAX_ANSWER_BYTES], f"the body is longer than {MAX_ANSWER_BYTES} bytes"
    except (Urllib3Error, OSError, ValueError) as exc:  # bad chunking, cut short, bad gzip
        response.close()
        return b"".join(chunks), f"the body could not be read: {_reason(exc)}"
    response.release_conn()
    return b"".join(chunks), None


def _reason(error: Exception | None) -> str:
    text = str(error) if error else "unknown error"
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text[:200]
