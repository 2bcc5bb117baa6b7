"""The reference server on HTTP/1.1 with keep-alive: stdlib's threading server, one thread a connection.

A thread per connection means a slow or stalled client holds only its own thread, and an idle
timeout ends it. The stdlib server is enough for a loopback test target and adds no dependency.

Hostile clients are bounded: at most `max_connections` connections are open at once (a new one
beyond it closes the connection idle the longest), the listen backlog is deep, at the
file-descriptor limit the accept loop frees descriptors and backs off instead of spinning, and a
connection the client has reset costs a check, not the work of answering it.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import queue
import re
import resource
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.reference.answers import ApiError, Response
from conformance.reference.app import HEALTH_PATH, ReferenceApp
from conformance.reference.job_store import JobStore
from conformance.wire.http import HttpRequest

DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: far above any valid request to these operations
DEFAULT_IDLE_TIMEOUT = 30.0  # seconds a connection may wait for a request, or stall within one
DEFAULT_MAX_CONNECTIONS = 1000  # open at once; lowered to fit the file-descriptor limit (see `_fitted`)
DEFAULT_LISTEN_BACKLOG = 4096  # connections waiting to be accepted; the kernel caps it at net.core.somaxconn
FD_LIMIT_BACKOFF = 0.01  # seconds the accept loop pauses when it has no descriptor left
ACCEPT_BURST = 64  # connections taken per wake-up of the accept loop: under a flood it waits its turn at the GIL
SPARE_WORKER_SECONDS = 60.0  # a thread left without a connection for this long ends
DRAIN_POLL = 0.02  # seconds between looks at the answers in flight while stopping gracefully
# How long `stop` lets an answer already sent finish (its log line, its bookkeeping) before it cuts the connection.
STOP_GRACE = 0.5
# After a 413, what of the refused body is still read and discarded before closing (see `_linger`).
LINGER_SECONDS, LINGER_IDLE_SECONDS, LINGER_BYTES = 10.0, 2.0, 64 << 20
FD_LIMIT_EVICTIONS = 16  # idle connections closed then: room for a burst of waiting clients, not one at a time
_FD_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_DIGITS = re.compile(r"[0-9]+")  # Content-Length: ASCII digits only (str.isdigit() also takes "²" and "٣")
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")  # a chunk size: int(x, 16) also takes "0x1f", "1_f" and " f"


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

    def handle(self) -> None:
        """Serve requests until the connection closes; none if the client reset it while it waited to be accepted."""
        if not self._reset():
            super().handle()

    def _reset(self) -> bool:
        """Whether the client has reset the connection. A flood of clients that leave early then costs a check each,
        not the parsing and answering of requests no one will read."""
        return self.connection.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the app, which answers an unsupported one with a 4xx; the stdlib
        # would answer 501, a server error, for the client's mistake.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def handle_one_request(self) -> None:
        """Read and answer one request; until its request line is read, it is addressed to no path."""
        self._started = time.monotonic()  # reset once the request line is in (parse_request): idle time is no duration
        self.path = ""  # not the previous request's on this connection, should the next request line be unreadable
        self._in_flight = False
        try:
            super().handle_one_request()
        finally:
            if self._in_flight:
                self.server.count_in_flight(-1)

    def parse_request(self) -> bool:
        """The stdlib's, keeping the path as sent: the stdlib turns `//x` into `/x`, a path the client did not name.

        An HTTP/0.9 request line (`GET /` alone) is refused at once: the stdlib would wait for headers
        that HTTP/0.9 never sends, then answer without a status line, which no client here can read.
        """
        self._started = time.monotonic()
        # From its request line on, a request is in flight: a graceful stop waits for its answer (see `drain`).
        self._in_flight = True
        self.server.count_in_flight(+1)
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = line.split()
        # `POST / HTTP/0.9` too: the stdlib would read headers, then answer without a status line (and fail).
        if len(words) == 2 or (len(words) == 3 and _HTTP_0.fullmatch(words[2])):
            self.requestline, self.command, self.path = line, words[0], words[1]
            self.request_version = "HTTP/0.9"  # send_error answers it in HTTP/1.0 and closes
            self.send_error(400, "HTTP/0.9 requests are not supported; send HTTP/1.1")
            return False
        parsed = super().parse_request()
        if parsed:
            self.path = self.requestline.split()[1]
        return parsed

    def _handle(self) -> None:
        request = HttpRequest(self.command, self.path, dict(self.headers.items()), b"")
        error: ApiError | None = None
        try:
            request = dataclasses.replace(request, body=self._read_body())
        except _Rejected as rejected:
            self.close_connection = True
            error = rejected.error
        except OSError:  # the client stalled past the idle timeout or went away mid-body
            self.close_connection = True
            return
        if self._reset():  # after its request, still readable from the buffer: no one to answer
            self.close_connection = True
            return
        with self.server.busy(self.connection):  # while answering, never closed to make room
            app = self.server.app
            if error:
                response = app.failure(request, error)
            elif request.method in ("GET", "HEAD") and request.path.split("?", 1)[0] == HEALTH_PATH:
                response = app.health()  # before the app: no signature, throttle or variant stands in its way
            else:
                response = app.handle(request)
            self._send(response)
        if error is not None and error.status == 413:
            self._linger()

    def _linger(self) -> None:
        """Read and discard what the client still sends of a refused body, for a bounded time, before closing.

        Closing with unread data makes the kernel reset the connection, and a client still sending its body then
        meets a broken pipe before it reads the 413: nginx's lingering_close does the same.
        """
        connection = self.connection
        try:
            connection.shutdown(socket.SHUT_WR)  # the answer is whole: the client reads it, then its EOF
            deadline, drained = time.monotonic() + LINGER_SECONDS, 0
            while drained < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                connection.settimeout(min(left, LINGER_IDLE_SECONDS))
                data = connection.recv(1 << 16)
                if not data:
                    break
                drained += len(data)
        except OSError:  # the client went away or fell silent: close now
            pass

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
        digits = lengths[0].strip()
        if len(set(lengths)) != 1 or not _DIGITS.fullmatch(digits):
            raise _Rejected(ApiError("BadRequestException", 400, f"Invalid Content-Length: {', '.join(lengths)}"))
        # Past 19 digits it is over any limit; int() refuses more than 4300 digits (CVE-2020-10735).
        length = int(digits.lstrip("0")[:20] or "0")
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
            size_text = line.split(b";", 1)[0].strip(b" \t\r\n")
            if not line.endswith(b"\n") or not _HEX_DIGITS.fullmatch(size_text):
                raise _Rejected(ApiError("BadRequestException", 400, "Malformed chunked request body"))
            size = int(size_text, 16)
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
        if options.close_every_answer or self.server.draining:  # stopping: the client reconnects elsewhere
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
        if self.server.log_requests:
            self._log_answer(response.status)

    def _log_answer(self, status: int) -> None:
        """One line on stderr per answer: method, path, protocol, operation, status, duration, Content-Type."""
        request = HttpRequest(self.command or "-", self.path or "-", dict(getattr(self, "headers", None) or {}), b"")
        protocol, operation = self.server.app.addressed(request)
        content_type = json.dumps(request.header("Content-Type") or "")  # quoted: it may hold spaces
        milliseconds = (time.monotonic() - self._started) * 1000
        # One write per line, so that lines of concurrent connections never interleave.
        sys.stderr.write(f"{self.address_string()} {request.method} {request.path} protocol={protocol} "
                         f"operation={operation} status={status} duration_ms={milliseconds:.1f} "
                         f"content_type={content_type}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: `_log_answer` writes the line for each answer, once it has left."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the stdlib raises before a request is parsed, in the form of the protocol of the path it names."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an HTTP/0.9 or unreadable request line: answer as HTTP/1.0
            self.request_version = self.protocol_version = "HTTP/1.0"  # this connection's last answer
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


_HTTP_0 = re.compile(r"HTTP/0\.\d+", re.IGNORECASE)  # a request line naming HTTP/0.x


def _too_large(limit: int) -> ApiError:
    return ApiError("RequestEntityTooLargeException", 413, f"Request body exceeds the limit of {limit} bytes")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: ReferenceApp, max_body_bytes: int, idle_timeout: float,
                 verbose: bool, http_options: HttpOptions, max_connections: int, listen_backlog: int,
                 log_requests: bool) -> None:
        self.app, self.max_body_bytes, self.idle_timeout, self.verbose = app, max_body_bytes, idle_timeout, verbose
        self.log_requests = log_requests or verbose
        self.draining = False  # set when stopping gracefully: every answer then closes its connection
        self._in_flight, self._in_flight_lock = 0, threading.Lock()  # requests read in part or whole, not yet answered
        self.http_options = http_options
        self.max_connections = _fitted(max_connections)
        self.request_queue_size = listen_backlog  # server_activate() listens with it
        # Open connections in the order they last became idle, each with the instant it did (None while
        # it is being answered): the first idle one is the one to close when room is needed.
        self._connections: OrderedDict[socket.socket, float | None] = OrderedDict()
        self._connections_lock = threading.Lock()
        # Threads that have served their connection wait here for the next one: starting a thread
        # costs more than serving a short connection, and a flood of them is all short connections.
        self._handed: queue.SimpleQueue[_Handed | None] = queue.SimpleQueue()
        self._spare_workers, self._closed = 0, False
        self._workers_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_activate(self) -> None:
        """Listen; accept() then never blocks, so that the accept loop can take every waiting connection at once."""
        super().server_activate()
        self.socket.setblocking(False)

    def _handle_request_noblock(self) -> None:
        """Take the connections waiting to be accepted, up to ACCEPT_BURST (the stdlib takes one per wake-up)."""
        for _ in range(ACCEPT_BURST):
            try:
                request, client_address = self.get_request()
            except OSError:  # none left, or out of descriptors (see get_request)
                return
            try:
                self.process_request(request, client_address)
            except Exception:  # noqa: BLE001 - as the stdlib: one connection's failure must not stop the server
                self.handle_error(request, client_address)
                self.shutdown_request(request)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; out of file descriptors, free some and pause, so that the accept loop never spins."""
        try:
            return super().get_request()
        except OSError as error:
            if error.errno in _FD_EXHAUSTED:
                # The listening socket stays readable while accept() fails: without a pause the loop
                # would spin at 100% CPU, and without freeing descriptors no one would get in.
                with self._connections_lock:
                    victims = [self._pop_oldest_idle() for _ in range(FD_LIMIT_EVICTIONS)]
                for victim in victims:
                    _shut(victim)
                time.sleep(FD_LIMIT_BACKOFF)  # their threads close them meanwhile
            raise  # the stdlib's loop drops the error and selects again

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a new connection on a thread of its own (a spare one if any), making room for it; refused at once if
        there is no room."""
        admitted, victim = self._admit(request)
        if not admitted:
            self.shutdown_request(request)
            return
        handed = (request, client_address, victim)
        with self._workers_lock:
            if self._spare_workers:
                self._spare_workers -= 1
                self._handed.put(handed)
                return
        threading.Thread(target=self._work, args=(handed,), daemon=True).start()

    def server_close(self) -> None:
        """Stop listening, and let the spare threads end."""
        super().server_close()
        with self._workers_lock:
            spare, self._spare_workers, self._closed = self._spare_workers, 0, True
        for _ in range(spare):
            self._handed.put(None)

    def _work(self, handed: _Handed | None) -> None:
        """One thread: serve a connection, then each one handed over, until none comes for a while."""
        while handed is not None:
            request, client_address, victim = handed
            # Closed here rather than on the accept loop, where each system call waits its turn at the GIL.
            _shut(victim)
            self.process_request_thread(request, client_address)  # the stdlib's: serve, report errors, close
            handed = self._next_connection()

    def _next_connection(self) -> _Handed | None:
        """Wait as a spare thread for a connection; None when the server closes or none came in time."""
        with self._workers_lock:
            if self._closed:
                return None
            self._spare_workers += 1
        while True:
            try:
                return self._handed.get(timeout=SPARE_WORKER_SECONDS)
            except queue.Empty:
                with self._workers_lock:
                    if self._handed.empty():  # none is owed to a spare thread (they are handed under this lock)
                        self._spare_workers -= 1
                        return None

    def shutdown_request(self, request: Any) -> None:
        """Close a connection and stop counting it (the stdlib calls this once a connection's thread ends)."""
        with self._connections_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A traceback for a bug; one quiet line (with --verbose) for a client that went away or stalled."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # reset, broken pipe, timeout: the app never raises OSError (it answers 500)
            if self.verbose:
                sys.stderr.write(f"{client_address[0]} - connection lost: {error}\n")
            return
        super().handle_error(request, client_address)

    @contextmanager
    def busy(self, connection: socket.socket) -> Iterator[None]:
        """While a request is answered, its connection is not idle and is never closed to make room."""
        self._mark(connection, None)
        try:
            yield
        finally:
            self._mark(connection, time.monotonic())

    def drain(self, grace: float) -> int:
        """Keep no connection alive and wait up to `grace` seconds for the answers in flight; how many remain."""
        self.draining = True
        deadline = time.monotonic() + grace
        while (in_flight := self._in_flight) and time.monotonic() < deadline:
            time.sleep(DRAIN_POLL)
        return in_flight

    def count_in_flight(self, change: int) -> None:
        """A request began (+1: its request line is read) or ended (-1: answered, refused, or its client left)."""
        with self._in_flight_lock:
            self._in_flight += change

    def open_connections(self) -> int:
        """How many connections are open (accepted and not yet closed)."""
        with self._connections_lock:
            return len(self._connections)

    def close_connections(self) -> None:
        """End every open connection (their threads then close them)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def _admit(self, connection: socket.socket) -> tuple[bool, socket.socket | None]:
        """Count a new connection in; at the maximum, the one idle the longest is to be closed (returned with True)
        to make room for it, and if none is idle, the new one is refused (False)."""
        with self._connections_lock:
            victim = None
            if len(self._connections) >= self.max_connections:
                victim = self._pop_oldest_idle()
                if victim is None:
                    return False, None
            self._connections[connection] = time.monotonic()
        return True, victim

    def _mark(self, connection: socket.socket, idle_since: float | None) -> None:
        with self._connections_lock:
            if connection in self._connections:  # else already closed to make room, or the server stops
                self._connections[connection] = idle_since
                if idle_since is not None:
                    self._connections.move_to_end(connection)

    def _pop_oldest_idle(self) -> socket.socket | None:
        """Stop counting the connection idle the longest and return it (to be shut); under the lock."""
        oldest = next((connection for connection, since in self._connections.items() if since is not None), None)
        if oldest is not None:
            del self._connections[oldest]
        return oldest


# A connection handed to a thread: the socket, the client's address, and a connection to close first, if any.
_Handed = tuple[socket.socket, Any, socket.socket | None]


def _shut(connection: socket.socket | None) -> None:
    """End a connection from another thread: its handler's blocked read returns and the handler closes it."""
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone


def _fitted(max_connections: int) -> int:
    """The maximum of open connections, lowered so that they fit the process's file-descriptor limit.

    An eighth of the limit (at least 32) stays for everything else: the listening socket, files,
    and closed connections whose threads have not yet let go of them.
    """
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1")
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft - max(32, soft // 8)))


class ReferenceServer:
    """The reference server on a loopback port; a context manager that starts and stops it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, app: ReferenceApp | None = None, *,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 verbose: bool = False, http_options: HttpOptions | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS, listen_backlog: int = DEFAULT_LISTEN_BACKLOG,
                 log_requests: bool = False, shutdown_grace: float = 0.0) -> None:
        self.app = app or ReferenceApp()
        self.shutdown_grace = shutdown_grace  # seconds `serve_forever` gives answers in flight once interrupted
        self._httpd = _HTTPServer((host, port), self.app, max_body_bytes, idle_timeout, verbose,
                                  http_options or HttpOptions(), max_connections, listen_backlog, log_requests)
        self._thread: threading.Thread | None = None

    @property
    def max_connections(self) -> int:
        """The most connections open at once: as asked, or lower to fit the file-descriptor limit."""
        return self._httpd.max_connections

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
    def open_connections(self) -> int:
        """How many connections are open now."""
        return self._httpd.open_connections()

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

    def serve_forever(self) -> int:
        """Serve on this thread until `interrupt` (then stop gracefully, see `close`) or KeyboardInterrupt (at once).

        Returns how many answers were still in flight when `shutdown_grace` ran out.
        """
        try:
            self._httpd.serve_forever()
        except BaseException:
            self.close()
            raise
        return self.close(self.shutdown_grace)

    def interrupt(self) -> None:
        """Make `serve_forever` return; call it from another thread (it waits for the loop to end)."""
        self._httpd.shutdown()

    def stop(self) -> None:
        """Stop serving and close every connection, once the answers in flight are done (`STOP_GRACE` at most)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.close(STOP_GRACE)

    def close(self, grace: float = 0.0) -> int:
        """Release the listening socket, give answers in flight up to `grace` seconds, and end open connections.

        Returns how many answers were still in flight when the grace ran out (and were cut).
        """
        self._httpd.server_close()
        unfinished = self._httpd.drain(grace) if grace else 0
        self._httpd.close_connections()
        return unfinished

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
