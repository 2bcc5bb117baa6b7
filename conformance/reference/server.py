"""The reference server on HTTP/1.1 with keep-alive: stdlib's threading server, one thread a connection.

A thread per connection means a slow or stalled client holds only its own thread, and an idle
timeout ends it. The stdlib server is enough for a loopback test target and adds no dependency.
"""

from __future__ import annotations

import dataclasses
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.reference.app import ReferenceApp
from conformance.reference.awsjson import ApiError, Response
from conformance.reference.jobs import JobStore
from conformance.wire import HttpRequest

DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: far above any valid request to these operations
DEFAULT_IDLE_TIMEOUT = 30.0


@dataclass(frozen=True)
class HttpOptions:
    """How answers are framed: all three are legal HTTP/1.1, and a client must cope with each."""

    close_every_answer: bool = False  # "Connection: close" on every answer
    chunked_answers: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    answer_delay: float = 0.0  # seconds to wait before answering


class _Rejected(Exception):
    """The request cannot be read; answer this error and close the connection."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive by default
    server_version = "conformance-reference"
    server: _HTTPServer

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # StreamRequestHandler applies it to the socket
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the app, which answers an unsupported one with a 4xx; the stdlib
        # would answer 501, a server error, for the client's mistake.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def handle_one_request(self) -> None:
        """Read and answer one request; until its request line is read, it is addressed to no path."""
        self.path = ""  # not the previous request's on this connection, should the next request line be unreadable
        super().handle_one_request()

    def parse_request(self) -> bool:
        """The stdlib's, keeping the path as sent: the stdlib turns `//x` into `/x`, a path the client did not name."""
        parsed = super().parse_request()
        if parsed:
            self.path = self.requestline.split()[1]
        return parsed

    def _handle(self) -> None:
        request = HttpRequest(self.command, self.path, dict(self.headers.items()), b"")
        try:
            request = dataclasses.replace(request, body=self._read_body())
        except _Rejected as rejected:
            self.close_connection = True
            self._send(self.server.app.failure(request, rejected.error))
            return
        except OSError:  # the client stalled past the idle timeout or went away mid-body
            self.close_connection = True
            return
        self._send(self.server.app.handle(request))

    def _read_body(self) -> bytes:
        limit = self.server.max_body_bytes
        encodings = [coding.strip().lower() for header in self.headers.get_all("Transfer-Encoding", [])
                     for coding in header.split(",")]
        if encodings:
            if encodings != ["chunked"]:
                raise _Rejected(ApiError("BadRequestException", 400, f"Unsupported Transfer-Encoding: {', '.join(encodings)}"))
            return self._read_chunked(limit)
        lengths = self.headers.get_all("Content-Length", [])
        if not lengths:
            return b""
        if len(set(lengths)) != 1 or not lengths[0].strip().isdigit():
            raise _Rejected(ApiError("BadRequestException", 400, f"Invalid Content-Length: {', '.join(lengths)}"))
        length = int(lengths[0])
        if length > limit:
            raise _Rejected(_too_large(limit))
        body = self.rfile.read(length)
        if len(body) < length:
            raise OSError("connection closed mid-body")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        # http.server does not decode chunked request bodies; this is the whole of RFC 9112 §7.1
        # a server needs (chunk extensions ignored, trailers read and dropped).
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1026)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                size = -1
            if not line.endswith(b"\n") or size < 0 or not size_text.isalnum():
                raise _Rejected(ApiError("BadRequestException", 400, "Malformed chunked request body"))
            if size == 0:
                break
            total += size
            if total > limit:
                raise _Rejected(_too_large(limit))
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.read(2) != b"\r\n":
                raise _Rejected(ApiError("BadRequestException", 400, "Malformed chunked request body"))
            chunks.append(chunk)
        for _ in range(100):  # trailer section, up to the empty line
            if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                break
        return b"".join(chunks)

    def _send(self, response: Response) -> None:
        if response.drop_connection:  # closing without a word is what a crashed worker does
            self.close_connection = True
            return
        options = self.server.http_options
        if options.answer_delay:
            time.sleep(options.answer_delay)
        if options.close_every_answer:
            self.close_connection = True
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        body = response.body
        if options.chunked_answers and self.request_version == "HTTP/1.1":
            self.send_header("Transfer-Encoding", "chunked")
            half = len(body) // 2
            body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]) if part)
            body += b"0\r\n\r\n"
        else:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body leave in one write: two small writes on a keep-alive connection meet
        # Nagle and delayed ACKs and cost tens of milliseconds per request.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the stdlib raises before a request is parsed, in the form of the protocol of the path it names."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # the request line was unreadable: answer HTTP/1.0
            self.request_version = "HTTP/1.0"
        if code >= 500:  # only ever a malformed request here (e.g. an unknown HTTP version)
            code = 400
        # The stdlib sets the path only once the version is read: before, the request line's second word.
        words = getattr(self, "requestline", "").split()
        path = self.path or (words[1] if len(words) > 1 else "")
        request = HttpRequest(self.command or "", path, {}, b"")
        self._send(self.server.app.failure(request, ApiError("BadRequestException", code, message or "Bad request")))

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def _too_large(limit: int) -> ApiError:
    return ApiError("RequestEntityTooLargeException", 413, f"Request body exceeds the limit of {limit} bytes")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: ReferenceApp, max_body_bytes: int,
                 idle_timeout: float, verbose: bool, http_options: HttpOptions) -> None:
        self.app, self.max_body_bytes, self.idle_timeout, self.verbose = app, max_body_bytes, idle_timeout, verbose
        self.http_options = http_options
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
            (self._connections.add if add else self._connections.discard)(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ReferenceServer:
    """The reference server on a loopback port; a context manager that starts and stops it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, app: ReferenceApp | None = None, *,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 verbose: bool = False, http_options: HttpOptions | None = None) -> None:
        self.app = app or ReferenceApp()
        self._httpd = _HTTPServer((host, port), self.app, max_body_bytes, idle_timeout, verbose,
                                  http_options or HttpOptions())
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the server listens on."""
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The endpoint URL, e.g. http://127.0.0.1:54321."""
        host, port = self.address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    @property
    def jobs(self) -> JobStore:
        """The job store, for tests that drive jobs directly."""
        return self.app.jobs

    def start(self) -> ReferenceServer:
        """Serve on a background thread; returns self."""
        # A short poll interval: stop() waits for the serving loop to notice the shutdown.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="reference-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted."""
        try:
            self._httpd.serve_forever()
        finally:
            self.close()

    def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.close()

    def close(self) -> None:
        """Release the listening socket and end open connections."""
        self._httpd.server_close()
        self._httpd.close_connections()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
