"""The way to an endpoint (`Route`): direct, on the sending loop's keep-alive connections (`http1`), or through a
proxy with urllib3; and the headers a request goes out with.

Why not `requests`, nor urllib3 for a direct endpoint: their per-request machinery (session and
header merging, Retry and Timeout objects, header wrappers, response objects) cost several times
what sending costs (benchmarks/bench_client.py), and they block a thread per request in flight. A
direct endpoint is served by `http1.Pool` on the one event loop; a proxied one stays on urllib3's
ProxyManager (HTTP CONNECT, SOCKS), on a thread per request, where the run says so.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

import urllib3
from botocore.httpsession import get_cert_path
from urllib3.exceptions import HTTPError as Urllib3Error

from conformance.engine.transport import http1
from conformance.engine.transport.proxies import proxy_headers
from conformance.wire.http import HttpRequest

MAX_ANSWER_BYTES = http1.MAX_ANSWER_BYTES


# Headers every request carries unless it sets its own, as `requests` sent them (its User-Agent aside).
DEFAULT_HEADERS = {
    "User-Agent": f"aws-comprehend-conformance python-urllib3/{urllib3.__version__}",
    "Accept-Encoding": "gzip,deflate",  # what requests asked for; decoded on reading, piece by piece
    "Accept": "*/*",
    "Connection": "keep-alive",
}
# What `requests` refused to send (its InvalidHeader, then Unanswered here): a name with `:` or white space,
# a value with leading white space or a line break. http.client alone lets folded lines through.
_HEADER_NAME = re.compile(r"[^:\s][^:\r\n]*")
_HEADER_VALUE = re.compile(r"\S[^\r\n]*|")


class InvalidHeader(ValueError):
    """A header that is not sent as given (a line break, leading white space, a bad name)."""


DIRECT = "direct"  # a Route's kinds: on the event loop ...
PROXY = "proxy"  # ... or through a proxy, with urllib3 on a thread


class Route:
    """The way to one endpoint: keep-alive connections on the sending loop, or urllib3 through a proxy."""

    def __init__(self, url: str, pool_size: int, proxy: str | None, timeout: urllib3.Timeout) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.error: Exception | None = None  # why nothing can be sent this way (a proxy scheme not supported)
        self.direct: http1.Pool | None = None
        self.manager: urllib3.PoolManager | None = None
        self.kind = DIRECT if proxy is None else PROXY
        if proxy is None:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
            # HTTPS: certificates checked, host names matched, against the bundle requests used (certifi's).
            context = ssl.create_default_context(cafile=get_cert_path(True)) if parts.scheme == "https" else None
            self.base_path = parts.path.rstrip("/")
            bracketed = f"[{host}]" if ":" in host else host
            self.host_header = bracketed if parts.port in (None, 443 if context else 80) else f"{bracketed}:{port}"
            self.direct = http1.Pool(host, port, context, pool_size, timeout.connect_timeout, timeout.read_timeout)
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

    async def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> http1.Answer:
        """Send one request and read its answer, on the loop; raises (an OSError, an HTTPException, a urllib3 error,
        InvalidHeader) when no answer came."""
        if self.direct is None:  # through a proxy: urllib3 blocks a thread of the loop's executor meanwhile
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, self.exchange, method, path, headers, body)
        try:
            data = http1.request_bytes(method, self.base_path + path, self.host_header, headers, body)
        except UnicodeEncodeError as exc:
            raise InvalidHeader(f"a header value that is not Latin-1: {exc}") from None
        return await self.direct.send(data)

    def exchange(self, method: str, path: str, headers: dict[str, str], body: bytes) -> http1.Answer:
        """Through the proxy: send and read the answer whole (blocking)."""
        if self.error is not None:
            raise self.error
        assert self.manager is not None
        response = self.manager.urlopen(method, self.url + path, body=body or None, headers=headers,
                                        timeout=self.timeout, retries=False, redirect=False, assert_same_host=False,
                                        preload_content=False, decode_content=True)
        headers_in = {name.lower(): value for name, value in response.headers.itermerged()}
        return http1.Answer(response.status, headers_in, *_read_bounded(response))

    def close(self) -> None:
        """Close the idle connections (a direct route's from the loop it runs on)."""
        if self.direct is not None:
            self.direct.close()
        if self.manager is not None:
            self.manager.clear()


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
