"""Sending requests: keep-alive, SigV4 signing via botocore, retries on connection errors, an adaptive rate cap,
a request budget, and the job-id guard (`safety`)."""

from __future__ import annotations

import collections
import datetime
import http.client
import ipaddress
import logging
import random
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from urllib.parse import unquote, urlsplit

import urllib3
from botocore.httpsession import get_cert_path
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.wait import wait_for_read

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


# Headers every request carries unless it sets its own, as `requests` sent them (its User-Agent aside).
DEFAULT_HEADERS = {
    "User-Agent": f"aws-comprehend-conformance python-urllib3/{urllib3.__version__}",
    "Accept-Encoding": urllib3.util.make_headers(accept_encoding=True)["accept-encoding"],  # decoded on reading
    "Accept": "*/*",
    "Connection": "keep-alive",
}
# What `requests` refused to send (its InvalidHeader, then Unanswered here): a name with `:` or white space,
# a value with leading white space or a line break. http.client alone lets folded lines through.
_HEADER_NAME = re.compile(r"[^:\s][^:\r\n]*")
_HEADER_VALUE = re.compile(r"\S[^\r\n]*|")


class InvalidHeader(ValueError):
    """A header that is not sent as given (a line break, leading white space, a bad name)."""


class Transport:
    """Sends HttpRequests to one target over pooled keep-alive connections.

    Why not `requests`: its per-request machinery (session and adapter merging, header dicts, cookie
    jars, hooks, URL re-quoting, environment lookups) cost about 0.8 ms of CPU a request, several
    times what sending costs, and made the client the bottleneck (benchmarks/bench_client.py).
    urllib3's pool alone still spends ~35 us a request above http.client (Retry and Timeout
    objects, header wrappers, its response object: bench_client.py against a do-nothing server,
    217 against 183 us a request, 12% of the suite's rate). So a direct endpoint is served by a small pool
    of http.client connections (`_Pool`), with urllib3 decoding gzip/deflate answers piece by piece
    (bounded) as requests did; an endpoint behind a proxy goes through urllib3's ProxyManager.
    """

    def __init__(self, target: Target, *, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 connection_retries: int = 1, rate: float | None = None, pool_size: int = 16,
                 budget: int | None = None) -> None:
        self.target = target
        self.timeout = (connect_timeout, read_timeout)
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.connection_retries = connection_retries
        self.limiter = RateLimiter(rate)
        self.budget = Budget(budget)
        self.jobs = JobLedger()
        # One route per endpoint, its proxy resolved from the environment once, here: looking it up
        # per request (as requests' trust_env did, with ~/.netrc) costs more than sending.
        # HTTPS verifies certificates against the CA bundle requests used (certifi's, else botocore's).
        self._routes = {url: _Route(url, pool_size, _environ_proxy(url), self._timeout) for url in target.urls()}
        self.sent = 0
        self.first_sent_at: float | None = None  # time.monotonic() when the first request went out
        self.last_answer_at: float | None = None  # time.monotonic() when the latest answer was read
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
        route = self._routes[self.target.endpoint(service.name)]
        last_error: Exception | None = None
        for attempt in range(self.connection_retries + 1):
            if attempt:
                time.sleep(backoff(attempt))
            self.budget.spend(essential)
            self.limiter.wait()
            headers = self.prepare(request, service, signing)  # re-signed per attempt: the date moves
            began = time.monotonic()
            if self.first_sent_at is None:
                with self._count_lock:
                    if self.first_sent_at is None:
                        self.first_sent_at = began
            try:
                status, answer_headers, read = route.open(request.method, request.path,
                                                          _wire_headers(headers, request), request.body)
            except (Urllib3Error, http.client.HTTPException, OSError, InvalidHeader) as exc:
                last_error = exc  # refused, reset, closed before a status line, timed out, not sendable
                continue
            with self._count_lock:
                self.sent += 1
            # A status line came and then the body broke or overflowed: still an answer, and it is judged.
            body, read_error = read()
            answered = time.monotonic()
            with self._count_lock:
                self.last_answer_at = answered if self.last_answer_at is None else max(self.last_answer_at, answered)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s %s %r -> %s %s %r", request.method, url, redact_headers(headers), request.body[:200],
                          status, redact_headers(answer_headers), body[:200])
            return HttpResponse(status, answer_headers, body, answered - began, body_error=read_error)
        raise Unanswered(f"{url} gave no answer ({self.connection_retries + 1} attempts): {_reason(last_error)}")

    def close(self) -> None:
        """Close pooled connections."""
        for route in self._routes.values():
            route.close()


# (status, lower-cased headers with repeated ones joined by ", ", a call reading the body bounded)
Opened = tuple[int, dict[str, str], Callable[[], tuple[bytes, str | None]]]


class _Route:
    """The way to one endpoint: a keep-alive pool of http.client connections, or urllib3 through a proxy."""

    def __init__(self, url: str, pool_size: int, proxy: str | None, timeout: urllib3.Timeout) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.error: Exception | None = None  # why nothing can be sent this way (a proxy scheme not supported)
        self.direct: _Pool | None = None
        self.manager: urllib3.PoolManager | None = None
        if proxy is None:
            self.direct = _Pool(url, pool_size, timeout)
            return
        options = {"num_pools": 2, "maxsize": pool_size, "block": False, "retries": False,
                   "cert_reqs": "CERT_REQUIRED", "ca_certs": get_cert_path(True)}
        if proxy.lower().startswith("socks"):
            try:
                from urllib3.contrib.socks import SOCKSProxyManager
                self.manager = SOCKSProxyManager(proxy, **options)
            except ImportError as missing:  # as requests: without PySocks, a SOCKS proxy sends nothing
                self.error = urllib3.exceptions.ProxySchemeUnknown(f"missing dependencies for SOCKS support: {missing}")
        else:
            proxy = proxy if "://" in proxy else "http://" + proxy
            self.manager = urllib3.ProxyManager(proxy, proxy_headers=_proxy_headers(proxy), **options)

    def open(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Opened:
        """Send one request and read its status line and headers; raises (an OSError, an HTTPException, a urllib3
        error) when no answer came."""
        if self.error is not None:
            raise self.error
        if self.direct is not None:
            return self.direct.open(method, path, headers, body or None)
        assert self.manager is not None
        response = self.manager.urlopen(method, self.url + path, body=body or None, headers=headers,
                                        timeout=self.timeout, retries=False, redirect=False, assert_same_host=False,
                                        preload_content=False, decode_content=True)
        return (response.status, {name.lower(): value for name, value in response.headers.itermerged()},
                lambda: _read_bounded(response))

    def close(self) -> None:
        if self.direct is not None:
            self.direct.close()
        if self.manager is not None:
            self.manager.clear()


class _Pool:
    """Idle keep-alive http.client connections to one host (at most `size` kept; more are made when all are busy,
    as urllib3's non-blocking pool does). A connection goes back only once its answer was read whole."""

    def __init__(self, url: str, size: int, timeout: urllib3.Timeout) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "", parts.port
        self.base_path = parts.path.rstrip("/")
        self.size = size
        self.connect_timeout, self.read_timeout = timeout.connect_timeout, timeout.read_timeout
        # HTTPS: certificates checked, host names matched, against the bundle requests used (certifi's).
        self.context = ssl.create_default_context(cafile=get_cert_path(True)) if parts.scheme == "https" else None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is not None and connection.sock is not None and wait_for_read(connection.sock, timeout=0.0):
            connection.close()  # closed by the server while idle (or it sent something unasked): not reused
        if connection is None:
            if self.context is not None:
                connection = http.client.HTTPSConnection(self.host, self.port, timeout=self.connect_timeout,
                                                         context=self.context)
            else:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)
        return connection

    def _release(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append(connection)
                return
        connection.close()

    def open(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Opened:
        connection = self._connection()
        try:
            if connection.sock is None:  # new, or closed after a `Connection: close` answer
                connection.connect()  # within the connect timeout; then each read within the read timeout
                connection.sock.settimeout(self.read_timeout)
                # http.client writes the head and the body apart: without this, Nagle's algorithm may hold the
                # body until the head is acknowledged (urllib3 sets it too).
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.request(method, self.base_path + path, body=body, headers=headers)
            response = connection.getresponse()
        except (http.client.HTTPException, OSError) as exc:
            connection.close()
            # In urllib3's words, whose repr keeps a target's stray bytes (a bad status line) out of reports.
            raise urllib3.exceptions.ProtocolError("Connection aborted.", exc) from exc
        except BaseException:
            connection.close()
            raise
        headers_in: dict[str, str] = {}
        for name, value in response.msg.items():
            key = name.lower()
            headers_in[key] = f"{headers_in[key]}, {value}" if key in headers_in else value
        return response.status, headers_in, lambda: self._read(connection, response, headers_in, method)

    def _read(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse,
              headers: dict[str, str], method: str) -> tuple[bytes, str | None]:
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding and encoding != "identity":  # urllib3 decodes it, piece by piece
            decoding = urllib3.HTTPResponse(body=response, headers=urllib3.HTTPHeaderDict(response.msg.items()),
                                            status=response.status, version=response.version,
                                            reason=response.reason, preload_content=False, decode_content=True,
                                            original_response=response, enforce_content_length=True,
                                            request_method=method)
            body, error = _read_bounded(decoding)
        else:
            body, error = _read_plain(response)
        if error is None and response.isclosed():
            self._release(connection)
        else:
            response.close()
            connection.close()  # the rest is never read: this connection is not reused
        return body, error

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _read_plain(response: http.client.HTTPResponse) -> tuple[bytes, str | None]:
    """An unencoded body, at most MAX_ANSWER_BYTES of it, and why it is incomplete if it is."""
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.read(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                return b"".join(chunks)[:MAX_ANSWER_BYTES], f"the body is longer than {MAX_ANSWER_BYTES} bytes"
    except (http.client.HTTPException, OSError, ValueError) as exc:  # bad chunking, cut short, timed out
        broken = urllib3.exceptions.ProtocolError(f"Connection broken: {exc!r}", exc)  # as urllib3 put it
        return b"".join(chunks), f"the body could not be read: {_reason(broken)}"
    if response.length:  # http.client ends a body cut short quietly; urllib3 (and requests) said so
        return b"".join(chunks), ("the body could not be read: Connection broken: "
                                  f"IncompleteRead({size} bytes read, {response.length} more expected)")
    return b"".join(chunks), None


def _wire_headers(signed: Mapping[str, str], request: HttpRequest) -> dict[str, str]:
    """The headers that go on the wire: the defaults, overridden by the request's whatever their case (as
    requests merged them), with Content-Length 0 on an empty body outside GET and HEAD (as requests sent)."""
    merged = {name.lower(): (name, value) for name, value in DEFAULT_HEADERS.items()}
    for name, value in signed.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidHeader(f"invalid header name {name!r}")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise InvalidHeader(f"invalid header value for {name!r}: leading white space or a line break")
        merged[name.lower()] = (name, value)
    if not request.body and request.method not in ("GET", "HEAD") and "content-length" not in merged:
        merged["content-length"] = ("Content-Length", "0")
    return dict(merged.values())


def _environ_proxy(url: str) -> str | None:
    """The proxy the environment names for a URL (`<scheme>_proxy`, `all_proxy`), unless `no_proxy` exempts it:
    what requests resolved, without its ~/.netrc lookup."""
    proxies = urllib.request.getproxies_environment()
    proxies.pop("no", None)
    parts = urlsplit(url)
    host = parts.hostname
    if not proxies or host is None or _bypasses_proxy(host, parts.port):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def _bypasses_proxy(host: str, port: int | None) -> bool:
    no_proxy = urllib.request.getproxies_environment().get("no", "")
    entries = [entry for entry in no_proxy.replace(" ", "").split(",") if entry]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in entries:
        if entry == "*":
            return True
        if address is not None and "/" in entry:  # a network, in CIDR notation
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        if address is not None and entry == host:
            return True
        if address is None:
            entry = entry.lstrip(".")
            with_port = f"{host}:{port}" if port else host
            if entry in (host, with_port) or host.endswith("." + entry) or with_port.endswith("." + entry):
                return True
    return False


def _proxy_headers(proxy: str) -> dict[str, str]:
    """Proxy-Authorization from a proxy URL's user info, as requests sent it."""
    parts = urlsplit(proxy)
    if not parts.username:
        return {}
    return urllib3.util.make_headers(proxy_basic_auth=f"{unquote(parts.username)}:{unquote(parts.password or '')}")


def _read_bounded(response: urllib3.BaseHTTPResponse) -> tuple[bytes, str | None]:
    """The body, at most MAX_ANSWER_BYTES of it (decompressed), and why it is incomplete if it is.

    A whole body read returns its connection to the pool; one that broke or overflowed closes it.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.stream(65536, decode_content=True):  # decoded piece by piece: a gzip bomb stays bounded
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                _discard(response)  # the rest is never read: this connection is not reused
                return b"".join(chunks)[:MAX_ANSWER_BYTES], f"the body is longer than {MAX_ANSWER_BYTES} bytes"
    except (Urllib3Error, http.client.HTTPException, OSError, ValueError) as exc:  # bad chunking, cut short, bad gzip
        _discard(response)
        return b"".join(chunks), f"the body could not be read: {_reason(exc)}"
    response.release_conn()
    return b"".join(chunks), None


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Close the answer's connection and give the (closed) slot back to the pool."""
    response.close()
    response.release_conn()


def _reason(error: Exception | None) -> str:
    text = str(error) if error else "unknown error"
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text[:200]
