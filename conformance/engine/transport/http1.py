"""HTTP/1.1 exchanges on an event loop: a request written whole, its answer parsed by httptools.

httptools is llhttp (Node's parser, the one behind uvicorn) with a Python binding: the status line,
headers and framing (Content-Length, chunked) are parsed in C. What llhttp leaves to its caller is
here, as http.client and urllib3 did it: a bound on the head (64 KiB, 100 headers) and on the body
(`MAX_ANSWER_BYTES`, after gzip or deflate is undone piece by piece), a body read until the
connection closes when it has no length, informational (1xx) answers skipped, and a time limit
between reads. A connection is reused only after an answer read whole, with nothing after it: bytes
the target sends unasked close it, so that no answer is ever taken for the next request's, and
the answer they follow, if it is not judged yet, fails with them as its body's error.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import httptools

MAX_ANSWER_BYTES = 4 << 20  # an answer body is read up to this; a longer one is judged on its first bytes
MAX_HEAD_BYTES = 64 * 1024  # status line and headers, as http.client bounds a line
MAX_HEADERS = 100  # as http.client


class NoAnswer(ConnectionError):
    """No answer came: the connection failed or closed before a status line and headers, they were broken, or the
    read timed out before them."""


@dataclass
class Answer:
    """A status and headers (lower-cased names, a repeated one joined with ", "), the body read within bounds, and
    why it is incomplete if it is."""

    status: int
    headers: dict[str, str]
    body: bytes
    body_error: str | None = None


def request_bytes(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    """The request as http.client wrote it: request line, Host (unless given), Content-Length for a body (unless a
    length or chunking is given), the headers in order, then the body. InvalidHeader-worthy values are the
    caller's to refuse; a value outside Latin-1 raises UnicodeEncodeError (a ValueError)."""
    names = {name.lower() for name in headers}
    lines = [f"{method} {path} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {host}")
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Decoder:
    """gzip or deflate undone in bounded pieces: never more than the bound is inflated, whatever the ratio."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # deflate is sent zlib-wrapped or raw (as urllib3 allows both): tried wrapped first, raw if that fails
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        self._first = encoding == "deflate"

    def decode(self, data: bytes, room: int) -> tuple[bytes, bool]:
        """(at most room + 1 bytes of output, whether input was left over: the bound was passed)."""
        try:
            out = self._inflate.decompress(data, room + 1)
        except zlib.error:
            if not self._first:
                raise
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inflate.decompress(data, room + 1)
        self._first = False
        return out, bool(self._inflate.unconsumed_tail) or len(out) > room


def content_decoder(headers: dict[str, str]) -> _Decoder | None:
    """A decoder for the answer's Content-Encoding if it is gzip or deflate (what the suite asks for), else None:
    another encoding is kept as it came, as urllib3 kept it."""
    encoding = headers.get("content-encoding", "").strip().lower()
    return _Decoder(encoding) if encoding in ("gzip", "x-gzip", "deflate") else None


class Connection(asyncio.Protocol):
    """One keep-alive connection: one exchange at a time, its answer parsed as its bytes arrive."""

    def __init__(self, read_timeout: float | None) -> None:
        self.read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self._waiter: asyncio.Future[Answer] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # uvloop's transports are not asyncio.Transport's kind

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._done:  # bytes nobody asked for: this connection is not trusted again
            if self._waiter is not None and data.strip(b"\r\n"):  # its answer is not judged yet: it says so
                self._unasked(f"{len(data)} bytes")
            self.close()
            return
        self._last_read = self._loop.time()
        if not self._head_done:
            # httptools gathers a header line whole before handing it over: bound what it may gather
            self._head_read += len(data)
            if self._head_read > MAX_HEAD_BYTES + 65536:
                self._problem = f"got more than {MAX_HEAD_BYTES} bytes in the status line and headers"
                self._broken(_Overflow(self._problem))
                return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # a 101: the connection speaks something else from here
            self._finish(None, close=True)
        except (httptools.HttpParserError, _Overflow, zlib.error) as exc:
            self._broken(exc)
        if self._done and not self._waiter.done():
            self._deliver()

    def eof_received(self) -> bool | None:
        self._closed_by_peer()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._done:
            self._closed_by_peer(exc)

    # one exchange
    async def exchange(self, request: bytes) -> Answer:
        """Send a request and read its answer; NoAnswer when none came. Cancelled, the connection is closed."""
        assert self.transport is not None and self._waiter is None
        self._start()
        self._waiter = self._loop.create_future()
        if self.read_timeout:
            self._timer = self._loop.call_later(self.read_timeout, self._check_timeout)
        try:
            self.transport.write(request)
            return await self._waiter
        except BaseException:
            self.close()
            raise
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._waiter = None

    def _start(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._status = 0
        self._headers: dict[str, str] = {}
        self._head_bytes = 0
        self._head_read = 0  # bytes received before the head was whole
        self._problem: str | None = None  # why a callback stopped the parser
        self._count = 0
        self._informational = False
        self._head_done = False
        self._done = False
        self._answered: Answer | None = None
        self._length: int | None = None
        self._until_close = False
        self._received = 0  # body bytes as sent (before decoding)
        self._body: list[bytes] = []
        self._size = 0  # body bytes kept (after decoding)
        self._decoder: _Decoder | None = None
        self._last_read = self._loop.time()
        self.reusable = False

    def _check_timeout(self) -> None:
        """No byte for read_timeout seconds: no answer, or an answer whose body stopped."""
        assert self.read_timeout is not None
        idle = self._loop.time() - self._last_read
        if self._done or self._waiter is None:
            return
        if idle < self.read_timeout:  # data came meanwhile: wait for what is left of the timeout after it
            self._timer = self._loop.call_later(self.read_timeout - idle, self._check_timeout)
        elif self._head_done:
            self._finish("the body could not be read: Read timed out.", close=True)
            self._deliver()
        else:
            self._fail(NoAnswer(f"Read timed out. (read timeout={self.read_timeout:g})"))

    # llhttp callbacks
    def on_message_begin(self) -> None:
        if self._answered is not None:  # a second answer to one request: never passed on as the next one's
            self._problem = "more than one answer to one request"
            raise _Overflow(self._problem)

    def on_status(self, status: bytes) -> None:
        self._head_bytes += len(status)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        self._count += 1
        if self._head_bytes > MAX_HEAD_BYTES:
            self._problem = f"got more than {MAX_HEAD_BYTES} bytes in the status line and headers"
        elif self._count > MAX_HEADERS:
            self._problem = f"got more than {MAX_HEADERS} headers"
        if self._problem:
            raise _Overflow(self._problem)
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim answer (100 Continue): the real one follows
            self._informational = True
            return
        self._status, self._head_done = status, True
        length = self._headers.get("content-length")
        self._length = int(length) if length is not None and length.strip().isdigit() else None
        chunked = "chunked" in self._headers.get("transfer-encoding", "").lower()
        self._until_close = self._length is None and not chunked and status not in (204, 304)
        self._decoder = content_decoder(self._headers)

    def on_body(self, data: bytes) -> None:
        if self._done:
            return
        self._received += len(data)
        room = MAX_ANSWER_BYTES - self._size
        if self._decoder is not None:
            try:
                data, over = self._decoder.decode(data, room)
            except zlib.error as exc:
                self._problem = (f"Received response with content-encoding: {self._decoder.encoding}, but failed "
                                 f"to decode it. ({exc})")  # urllib3's words
                raise
        else:
            over = len(data) > room
        if over:  # the rest is never read: this connection is not reused
            self._body.append(data[:room])
            self._finish(f"the body is longer than {MAX_ANSWER_BYTES} bytes", close=True)
            return
        self._body.append(data)
        self._size += len(data)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            self._headers, self._head_bytes, self._count = {}, 0, 0
            return
        if not self._done:
            self._finish(None, close=not self._parser.should_keep_alive())

    # endings
    def _finish(self, body_error: str | None, *, close: bool) -> None:
        """The answer is complete (or as complete as it will be): kept until it is delivered."""
        self._done = True
        self._answered = Answer(self._status, self._headers, b"".join(self._body), body_error)
        self.reusable = not close and body_error is None
        if close:
            self.close()

    def _deliver(self) -> None:
        assert self._waiter is not None and self._answered is not None
        if not self._waiter.done():
            self._waiter.set_result(self._answered)

    def _fail(self, error: Exception) -> None:
        self._done = True
        self.close()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def _broken(self, exc: Exception) -> None:
        """Bytes that are not HTTP: before the head is whole, no answer; after it, an answer with a body error."""
        reason = self._problem or str(exc) or type(exc).__name__
        if self._done:  # more after the answer: the answer stands, said to be followed so; the connection goes
            self._unasked(reason)
            self.close()
        elif self._head_done:
            self._finish(f"the body could not be read: Connection broken: {reason}", close=True)
        else:
            self._fail(NoAnswer(f"the answer is not HTTP: {reason}"))

    def _unasked(self, what: str) -> None:
        """Bytes came after the whole answer, before it was judged (a second answer, a body longer than its
        Content-Length): a fault of the answer's framing, so the answer carries it as its body's error."""
        if self._answered is not None and self._answered.body_error is None:
            self._answered.body_error = f"the answer was followed by bytes nobody asked for: {what}"

    def _closed_by_peer(self, exc: Exception | None = None) -> None:
        if self._waiter is None or self._done:
            self.close()
            return
        if not self._head_done:
            why = f": {exc}" if exc else ""
            self._fail(NoAnswer(f"Remote end closed connection without response{why}"))
            return
        if self._until_close:  # a body without a length ends where the connection does
            self._finish(None, close=True)
        elif self._length is not None:
            self._finish("the body could not be read: Connection broken: IncompleteRead("
                         f"{self._received} bytes read, {self._length - self._received} more expected)", close=True)
        else:
            self._finish("the body could not be read: Connection broken: the chunked body was cut short", close=True)
        self._deliver()

    def close(self) -> None:
        """Close the connection: it is never reused."""
        self.reusable = False
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Overflow(Exception):
    """An answer past a bound of the head, or a second answer to one request."""


class Pool:
    """Idle keep-alive connections to one host (at most `size` kept; more are opened when all are busy)."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, size: int, connect_timeout: float,
                 read_timeout: float | None) -> None:
        self.host, self.port, self.context = host, port, context
        self.size = size
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self._idle: list[Connection] = []

    async def send(self, request: bytes) -> Answer:
        """One exchange on an idle connection or a new one; NoAnswer or an OSError when no answer came."""
        connection = self._take()
        if connection is None:
            connection = await self._open()
        answer = await connection.exchange(request)
        if connection.reusable and not connection.closed and len(self._idle) < self.size:
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    def _take(self) -> Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:  # one the server closed while idle is seen closed here: the loop read its EOF
                return connection
        return None

    async def _open(self) -> Connection:
        loop = asyncio.get_running_loop()
        factory: Callable[[], Connection] = lambda: Connection(self.read_timeout)  # noqa: E731
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(factory, self.host, self.port, ssl=self.context,
                                       server_hostname=self.host if self.context else None),
                self.connect_timeout)
        except asyncio.TimeoutError:
            raise NoAnswer(f"Connection to {self.host} timed out. (connect timeout={self.connect_timeout:g})") \
                from None
        return connection

    def close(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
