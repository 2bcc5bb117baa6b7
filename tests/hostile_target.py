"""A hostile test target: a raw-socket HTTP/1.1 server that answers like the reference server, or breaks.

For each request a seeded random generator picks an honest answer (the reference app's, with its
default JobStore) or one hostile kind: broken framing, closed connections, odd statuses, and bodies
built to hang, exhaust or crash whatever decodes them. It proves that a client (the suite's
transport and decoders) copes with any answer. The server itself stays small and safe: every read
is bounded, every socket has a timeout, every thread is a daemon, and close() ends it all.

    with HostileTarget(seed=7, answers=0.5) as target:      # half honest, half hostile of any kind
        ... target.url ...
    with HostileTarget(seed=7, kinds=["deep_cbor"]) as target:  # always that kind
        ...
"""

from __future__ import annotations

import functools
import http
import random
import socket
import threading
import zlib
from collections.abc import Callable, Sequence

from conformance.reference import ReferenceApp
from conformance.wire.http import HttpRequest

HONEST = "honest"
JSON_TYPE = "application/x-amz-json-1.1"
CBOR_HEADERS = {"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"}

# Bounds on what the server reads and how long it waits: it must never hang or grow on a client's input.
SOCKET_TIMEOUT = 3.0  # seconds a read or write may block
MAX_HEAD_BYTES = 64 * 1024  # request line and headers
MAX_BODY_BYTES = 1 << 20  # request body, as the reference server
MAX_CHUNK_LINES = 1024  # chunks (and trailer lines) in a chunked request body
MAX_REQUESTS_PER_CONNECTION = 1000

BIG_BODY_BYTES = 8 << 20  # the body_8mib kind
BOMB_INFLATED_BYTES = 100 << 20  # the gzip_bomb kind inflates to just over this
DEEP_LEVELS = 10_000  # the deep_json and deep_cbor kinds
HUGE_DIGITS = 10_000  # the json_number_10k_digits kind (digits) and cbor_bignum_10k_bytes (bytes)
HUGE_HEADER_BYTES = 1 << 20  # the huge_header_line kind


class _Connection:
    """A client connection with bounded, buffered reads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("client closed the connection")
        self.buffer += data

    def read_until(self, marker: bytes, limit: int) -> bytes:
        """Bytes up to and including `marker`; ConnectionError past `limit` bytes."""
        while (at := self.buffer.find(marker)) < 0:
            if len(self.buffer) > limit:
                raise ConnectionError(f"no {marker!r} within {limit} bytes")
            self._fill()
        if at + len(marker) > limit:
            raise ConnectionError(f"no {marker!r} within {limit} bytes")
        data, self.buffer = self.buffer[:at + len(marker)], self.buffer[at + len(marker):]
        return data

    def read_exactly(self, size: int) -> bytes:
        """Exactly `size` bytes (the caller has bounded `size`)."""
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def _read_request(connection: _Connection) -> HttpRequest:
    """One request: request line, headers, and a Content-Length or chunked body; ConnectionError if unreadable."""
    head = connection.read_until(b"\r\n\r\n", MAX_HEAD_BYTES).decode("latin-1")
    request_line, *header_lines = head[:-4].split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ConnectionError(f"not an HTTP/1.x request line: {request_line[:100]!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise ConnectionError(f"not a header line: {line[:100]!r}")
        headers[name.strip()] = value.strip()
    lowered = {name.lower(): value for name, value in headers.items()}
    if "chunked" in lowered.get("transfer-encoding", "").lower():
        body = _read_chunked(connection)
    else:
        length_text = lowered.get("content-length", "0").strip()
        if not length_text.isdigit() or int(length_text) > MAX_BODY_BYTES:
            raise ConnectionError(f"unacceptable Content-Length {length_text[:30]!r}")
        body = connection.read_exactly(int(length_text))
    return HttpRequest(parts[0], parts[1], headers, body)


def _read_chunked(connection: _Connection) -> bytes:
    chunks: list[bytes] = []
    total = 0
    for _ in range(MAX_CHUNK_LINES):
        size_text = connection.read_until(b"\r\n", 1024)[:-2].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ConnectionError(f"bad chunk size {size_text[:30]!r}") from None
        if size == 0:
            for _ in range(MAX_CHUNK_LINES):  # trailer section, up to the empty line
                if connection.read_until(b"\r\n", 8192) == b"\r\n":
                    return b"".join(chunks)
            break
        total += size
        if size < 0 or total > MAX_BODY_BYTES:
            raise ConnectionError("chunked body over the size bound")
        chunks.append(connection.read_exactly(size))
        if connection.read_exactly(2) != b"\r\n":
            raise ConnectionError("chunk not followed by CRLF")
    raise ConnectionError("too many chunks or trailer lines")


def _head(status: int, headers: dict[str, str]) -> bytes:
    """A status line and header section, ready for a body."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:  # 299, 999: no standard phrase
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _framed(status: int, headers: dict[str, str], body: bytes) -> bytes:
    """A whole answer with Content-Length and `Connection: close` (the server closes after it)."""
    return _head(status, {**headers, "Content-Length": str(len(body)), "Connection": "close"}) + body


@functools.lru_cache(maxsize=1)
def _gzip_bomb() -> bytes:
    """Gzip data (~100 KB: deflate's ratio is at most ~1030:1) inflating to > BOMB_INFLATED_BYTES of JSON.

    Built from 1 MiB pieces, so that the inflated text never exists in memory; built once, then cached.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # wbits + 16: a gzip header and trailer
    piece = b" " * (1 << 20)  # JSON whitespace: the inflated body is even valid JSON
    parts = [packer.compress(piece) for _ in range(BOMB_INFLATED_BYTES // len(piece) + 1)]
    parts += [packer.compress(b"{}"), packer.flush()]
    return b"".join(parts)


def _json_error(body: bytes, status: int = 400) -> bytes:
    return _framed(status, {"Content-Type": JSON_TYPE, "x-amzn-RequestId": "hostile"}, body)


def _cbor_error(body: bytes, status: int = 400) -> bytes:
    return _framed(status, {**CBOR_HEADERS, "x-amzn-RequestId": "hostile"}, body)


def _garbage(rng: random.Random) -> bytes:
    # Never starts like a status line: "HTTP/" would make it a (broken) answer, another kind.
    return b"\x00GARBAGE" + rng.randbytes(512)


def _short_content_length(rng: random.Random) -> bytes:
    body = b'{"__type": "InternalServerException", "Message": "cut short"}'
    head = _head(500, {"Content-Type": JSON_TYPE, "Content-Length": str(len(body) + 1000), "Connection": "close"})
    return head + body


def _broken_chunked(rng: random.Random) -> bytes:
    head = _head(400, {"Content-Type": JSON_TYPE, "Transfer-Encoding": "chunked", "Connection": "close"})
    return head + b'5\r\n{"__t\r\nnot-hex\r\nype": "X"}\r\n'


def _body_8mib(rng: random.Random) -> bytes:
    prefix, suffix = b'{"__type": "InternalServerException", "Message": "', b'"}'
    return _json_error(prefix + b"x" * (BIG_BODY_BYTES - len(prefix) - len(suffix)) + suffix, 500)


def _gzip_bomb_answer(rng: random.Random) -> bytes:
    return _framed(200, {"Content-Type": JSON_TYPE, "Content-Encoding": "gzip"}, _gzip_bomb())


def _huge_header_line(rng: random.Random) -> bytes:
    return _framed(200, {"Content-Type": JSON_TYPE, "X-Padding": "a" * HUGE_HEADER_BYTES}, b"{}")


def _odd_status(status: int) -> Callable[[random.Random], bytes]:
    def answer(rng: random.Random) -> bytes:
        return _json_error(b'{"__type": "InternalServerException", "Message": "odd status"}', status)
    return answer


# kind -> the bytes sent before the connection is closed, given a generator for what it draws.
# Each is cheap to produce (the gzip bomb is built once) and independent of the request.
_HOSTILE: dict[str, Callable[[random.Random], bytes]] = {
    "garbage": _garbage,
    "close_without_answer": lambda rng: b"",
    "status_line_then_close": lambda rng: b"HTTP/1.1 200 OK\r\n",
    "short_content_length": _short_content_length,
    "broken_chunked": _broken_chunked,
    "body_8mib": _body_8mib,
    "deep_json": lambda rng: _json_error(b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS),
    "deep_cbor": lambda rng: _cbor_error(b"\x81" * DEEP_LEVELS + b"\x00"),
    # A map {"__type": <value shared as tag 28 that holds a reference to itself (tag 29)>}.
    "self_referencing_cbor": lambda rng: _cbor_error(b"\xa1\x66__type" + bytes.fromhex("d81ca16161d81d00")),
    "json_number_10k_digits": lambda rng: _json_error(b'{"__type": "X", "Message": 1' + b"0" * HUGE_DIGITS + b"}"),
    "cbor_bignum_10k_bytes": lambda rng: _cbor_error(
        b"\xa1\x67message\xc2\x59" + HUGE_DIGITS.to_bytes(2, "big") + b"\xff" * HUGE_DIGITS),
    "invalid_utf8_json": lambda rng: _json_error(b'{"__type": "Invalid\xff\xfeRequest", "Message": "\xc0\xaf"}'),
    "status_999": _odd_status(999),
    "status_299": _odd_status(299),
    "status_100_then_close": lambda rng: b"HTTP/1.1 100 Continue\r\n\r\n",
    "huge_header_line": _huge_header_line,
    "gzip_bomb": _gzip_bomb_answer,
}
HOSTILE_KINDS: tuple[str, ...] = tuple(_HOSTILE)


class HostileTarget:
    """A loopback HTTP/1.1 target answering honestly with share `answers`, else with a hostile kind.

    `kinds` limits the hostile kinds drawn from (default: all of HOSTILE_KINDS); `answers` defaults
    to 0.5, or to 0 when `kinds` is given, so `HostileTarget(seed, kinds=["deep_cbor"])` always
    answers deep_cbor. `served` lists the kind each request got, in order of arrival.
    """

    def __init__(self, seed: int, answers: float | None = None, kinds: Sequence[str] | None = None,
                 app: ReferenceApp | None = None) -> None:
        unknown = set(kinds or ()) - set(HOSTILE_KINDS)
        if unknown:
            raise ValueError(f"unknown kinds {sorted(unknown)}; known: {', '.join(HOSTILE_KINDS)}")
        if kinds is not None and not kinds:
            raise ValueError("kinds must name at least one kind")
        self.kinds: tuple[str, ...] = tuple(kinds) if kinds else HOSTILE_KINDS
        self.answers = (0.0 if kinds else 0.5) if answers is None else answers
        if not 0.0 <= self.answers <= 1.0:
            raise ValueError(f"answers must be a share in [0, 1], not {self.answers}")
        self.app = app or ReferenceApp()
        self.served: list[str] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # the generator, `served` and the set of open sockets
        self._sockets: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []  # one a connection, pruned as they end
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # the accept loop looks at `_stopping` this often
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint URL, e.g. http://127.0.0.1:54321."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> HostileTarget:
        """Serve on a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._accept_loop, name="hostile-target", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, end every open connection and wait briefly for the threads."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._listener.close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv or send
            except OSError:
                pass
        for worker in self._workers:
            worker.join(timeout=SOCKET_TIMEOUT)
        self._workers.clear()

    def __enter__(self) -> HostileTarget:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _choose(self) -> tuple[str, random.Random]:
        """The kind for the next request, and a generator of its own for what the kind draws."""
        with self._lock:
            kind = HONEST if self._rng.random() < self.answers else self._rng.choice(self.kinds)
            self.served.append(kind)
            return kind, random.Random(self._rng.getrandbits(64))

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed
                return
            sock.settimeout(SOCKET_TIMEOUT)
            with self._lock:
                self._sockets.add(sock)
            worker = threading.Thread(target=self._serve, args=(sock,), name="hostile-connection", daemon=True)
            worker.start()
            self._workers = [*(w for w in self._workers if w.is_alive()), worker]  # only this thread writes it

    def _serve(self, sock: socket.socket) -> None:
        connection = _Connection(sock)
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                if self._stopping.is_set():
                    return
                request = _read_request(connection)
                kind, rng = self._choose()
                if kind != HONEST:
                    sock.sendall(_HOSTILE[kind](rng))
                    return  # every hostile kind ends the connection
                response = self.app.handle(request)
                if getattr(response, "drop_connection", False):  # the reference's "worker crashed"
                    return
                # As the reference server frames it (server.py `_send`): Content-Length, keep-alive
                # unless the client asks to close, and for HEAD the length of the body it does not send.
                closing = (request.header("Connection") or "").strip().lower() == "close"
                headers = {**response.headers, "Content-Length": str(len(response.body)),
                           **({"Connection": "close"} if closing else {})}
                sock.sendall(_head(response.status, headers) + (b"" if request.method == "HEAD" else response.body))
                if closing:
                    return
        except OSError:  # the client went away, stalled past the timeout, or sent no readable request
            return
        except Exception:  # a bug here must end one connection, never the server
            return
        finally:
            with self._lock:
                self._sockets.discard(sock)
            try:
                sock.close()
            except OSError:
                pass
