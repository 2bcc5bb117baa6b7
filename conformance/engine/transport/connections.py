"""Keep-alive connections to an endpoint, and reading answers within bounds.

Why not `requests`: its per-request machinery (session and adapter merging, header dicts, cookie
jars, hooks, URL re-quoting, environment lookups) cost about 0.8 ms of CPU a request, several
times what sending costs, and made the client the bottleneck (benchmarks/bench_client.py).
urllib3's pool alone still spends ~35 us a request above http.client (Retry and Timeout
objects, header wrappers, its response object: bench_client.py against a do-nothing server,
217 against 183 us a request, 12% of the suite's rate). So a direct endpoint is served by a small pool
of http.client connections (`ConnectionPool`), with urllib3 decoding gzip/deflate answers piece by piece
(bounded) as requests did; an endpoint behind a proxy goes through urllib3's ProxyManager (`Route`).
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import urllib3
from botocore.httpsession import get_cert_path
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.wait import wait_for_read

from conformance.engine.transport.proxies import proxy_headers
from conformance.wire.http import HttpRequest

MAX_ANSWER_BYTES = 4 << 20  # an answer body is read up to this; a longer one is judged on its first bytes


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


# (status, lower-cased headers with repeated ones joined by ", ", a call reading the body bounded)
Opened = tuple[int, dict[str, str], Callable[[], tuple[bytes, str | None]]]


class Route:
    """The way to one endpoint: a keep-alive pool of http.client connections, or urllib3 through a proxy."""

    def __init__(self, url: str, pool_size: int, proxy: str | None, timeout: urllib3.Timeout) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.error: Exception | None = None  # why nothing can be sent this way (a proxy scheme not supported)
        self.direct: ConnectionPool | None = None
        self.manager: urllib3.PoolManager | None = None
        if proxy is None:
            self.direct = ConnectionPool(url, pool_size, timeout)
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
            self.manager = urllib3.ProxyManager(proxy, proxy_headers=proxy_headers(proxy), **options)

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


class ConnectionPool:
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
        return b"".join(chunks), f"the body could not be read: {failure_reason(broken)}"
    if response.length:  # http.client ends a body cut short quietly; urllib3 (and requests) said so
        return b"".join(chunks), ("the body could not be read: Connection broken: "
                                  f"IncompleteRead({size} bytes read, {response.length} more expected)")
    return b"".join(chunks), None


def wire_headers(signed: Mapping[str, str], request: HttpRequest) -> dict[str, str]:
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
        return b"".join(chunks), f"the body could not be read: {failure_reason(exc)}"
    response.release_conn()
    return b"".join(chunks), None


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Close the answer's connection and give the (closed) slot back to the pool."""
    response.close()
    response.release_conn()


def failure_reason(error: Exception | None) -> str:
    """Why no answer came, in a few words: the kind of failure where it is a known one."""
    text = str(error) if error else "unknown error"
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text[:200]
