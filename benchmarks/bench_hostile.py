"""Hostile clients at full scale against `conformance serve`: what each family costs the server and a good client.

Sends the families of tests/test_reference_fuzz.py (deep JSON, CBOR expansion bombs, odd
Content-Length digits and chunk sizes, HTTP/0.9, clients that leave early, floods of idle
connections, Starts with a 1 MB unknown member, Starts past the job maximum) from several threads
each, against the server run as its own process, while a well-behaved client in a third process
sends Stops in a loop. Prints per family: requests sent, 5xx answers, requests left unanswered
(the good client's included), "Traceback" lines on the server's stderr, the good client's worst
wait, the server's peak RSS (VmHWM) and its CPU use. The last family floods a second server
whose file-descriptor limit is lowered to 256. Every count is bounded, and so is every family's time.

    python benchmarks/bench_hostile.py [--scale 1.0] [--family-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the families are the fuzz test's, sent here at full scale

from test_reference_fuzz import (
    HOSTILE_FAMILIES,
    STOPS,
    KeepAlive,
    good_request,
    hostile_request,
    http09,
    leave_early,
    odd_framing,
    open_idle,
    raw_answer,
)

from conformance.model.job_apis import job_api_for

Address = tuple[str, int]
PROTOCOLS = ("awsJson1_1", "rpcv2Cbor")
GOOD_CLIENT_PAUSE = 0.02  # seconds between the good client's requests
FLOOD_HOLD_SECONDS = 3.0  # how long a flood keeps its idle connections open once all are made
FD_LIMIT = 256  # the second server's own file-descriptor limit
PII_JOBS = job_api_for("comprehend", "StopPiiEntitiesDetectionJob")
assert PII_JOBS is not None
START_TARGET = f"Comprehend_20171127.{PII_JOBS.start}"
START_BODY = PII_JOBS.start_example  # a valid Start


@dataclass
class Tally:
    """What one family's requests got, counted from all its threads."""

    requests: int = 0
    server_errors: int = 0
    unanswered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int | None) -> None:
        """Count one request by its answer's status (None: no answer)."""
        with self._lock:
            self.requests += 1
            self.server_errors += status is not None and status >= 500
            self.unanswered += status is None


# A worker is one thread of a family: (address, rng, how many requests, deadline, tally).
Worker = Callable[[Address, random.Random, int, float, Tally], None]


def bodies(names: list[str]) -> Worker:
    """Stops with hostile bodies of these families, over both protocols, on one keep-alive connection."""
    def work(address: Address, rng: random.Random, count: int, deadline: float, tally: Tally) -> None:
        connection, dropped = KeepAlive(address), []
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            body = HOSTILE_FAMILIES[rng.choice(names)](rng)
            path, headers, _ = hostile_request(rng, rng.choice(PROTOCOLS), rng.choice(STOPS), body)
            exchanged = connection.exchange("POST", path, headers, body, dropped, "")
            tally.add(exchanged[0].status if exchanged else None)
        connection.connection.close()
    return work


def starts(body: bytes) -> Worker:
    """awsJson1_1 Starts with this body, on one keep-alive connection."""
    headers = {"X-Amz-Target": START_TARGET, "Content-Type": "application/x-amz-json-1.1"}

    def work(address: Address, rng: random.Random, count: int, deadline: float, tally: Tally) -> None:
        connection, dropped = KeepAlive(address), []
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            exchanged = connection.exchange("POST", "/", headers, body, dropped, "")
            tally.add(exchanged[0].status if exchanged else None)
        connection.connection.close()
    return work


def raw(make: Callable[[random.Random], tuple[str, bytes]]) -> Worker:
    """Raw requests of a framing family, each on a new connection that the server must answer and close."""
    def work(address: Address, rng: random.Random, count: int, deadline: float, tally: Tally) -> None:
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            answered = raw_answer(address, make(rng)[1])
            tally.add(answered[0].status if answered else None)
    return work


def early(address: Address, rng: random.Random, count: int, deadline: float, tally: Tally) -> None:
    """Clients that send all or part of a request and leave before the answer (owed nothing)."""
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            leave_early(address, rng)
        except OSError:
            pass  # a connection the server refused or closed first: it owes nothing either way
        tally.add(0)


def flood(address: Address, rng: random.Random, count: int, deadline: float, tally: Tally) -> None:
    """Idle connections (slow clients), all held open for a while, then closed."""
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            try:
                held.append(open_idle(address, rng))
            except OSError:
                pass  # a full backlog: the client gave up, as a slow client may
            tally.add(0)
        time.sleep(min(FLOOD_HOLD_SECONDS, max(0.0, deadline - time.monotonic())))
    finally:
        for sock in held:
            sock.close()


@dataclass(frozen=True)
class Family:
    """A kind of hostile traffic: how many requests (or connections), from how many threads."""

    name: str
    requests: int
    threads: int
    worker: Worker


MEGABYTE_START = json.dumps({**START_BODY, "Unknown": "x" * 1_000_000}).encode()
FAMILIES = [
    Family("json.deep", 20_000, 4, bodies(["json.deep"])),
    Family("cbor.bombs", 20_000, 4, bodies(["cbor.nested_shared", "cbor.shared_reference", "cbor.deep",
                                            "cbor.string_reference"])),
    Family("http.odd_framing", 15_000, 4, raw(odd_framing)),
    Family("http.0.9", 15_000, 4, raw(http09)),
    Family("early_disconnect", 15_000, 4, early),
    Family("start.1mb_unknown", 500, 2, starts(MEGABYTE_START)),
    Family("start.past_max_jobs", 12_000, 4, starts(json.dumps(START_BODY).encode())),
    Family("flood.idle", 5_000, 4, flood),
]
FD_LIMIT_FAMILY = Family(f"flood.fd_limit_{FD_LIMIT}", 3_000, 4, flood)


@dataclass(frozen=True)
class Served:
    """A server process: where it listens, its pid, and the file its stderr goes to."""

    address: Address
    pid: int
    log: Path

    def tracebacks(self) -> int:
        """How many "Traceback" lines it has written to stderr so far."""
        return sum("Traceback" in line for line in self.log.read_text(errors="replace").splitlines())

    def peak_rss_mib(self) -> float:
        """Its peak resident set size so far (VmHWM), in MiB."""
        found = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{self.pid}/status").read_text())
        return int(found.group(1)) / 1024 if found else float("nan")

    def cpu_seconds(self) -> float:
        """CPU time it has used so far (user + system)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100  # in clock ticks of 1/100 s


@contextmanager
def served(log: Path, fd_limit: int | None = None) -> Iterator[Served]:
    """`conformance serve --port 0` in its own process (its fd limit lowered by prlimit, if asked), stderr to `log`."""
    limit = ["prlimit", f"--nofile={fd_limit}"] if fd_limit else []  # prlimit execs the server: one pid
    with log.open("w") as stderr:
        process = subprocess.Popen([*limit, sys.executable, "-m", "conformance", "serve", "--port", "0"], cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        banner = process.stdout.readline() if process.stdout else ""
        port = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        if port is None:
            sys.exit(f"the server did not start: {banner!r}")
        yield Served(("127.0.0.1", int(port.group(1))), process.pid, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def good_client(pipe: Connection) -> None:
    """A well-behaved client in its own process (no GIL shared with the hostile threads): timed Stops in a loop.

    Commands on the pipe: ("target", address), ("report", None) answers (requests, worst wait,
    unanswered) since the last report, ("stop", None).
    """
    address: Address | None = None
    count, worst, failed = 0, 0.0, 0
    while True:
        if pipe.poll(0 if address else None):
            command, value = pipe.recv()
            if command == "stop":
                return
            if command == "target":
                address = value
            else:
                pipe.send((count, worst, failed))
                count, worst, failed = 0, 0.0, 0
            continue
        began = time.monotonic()
        try:
            good_request(address)
        except (AssertionError, OSError):
            failed += 1
        count, worst = count + 1, max(worst, time.monotonic() - began)
        time.sleep(GOOD_CLIENT_PAUSE)


def run_family(family: Family, server: Served, pipe: Connection, scale: float, seconds: float) -> list[str]:
    """Send one family from its threads while the good client runs; its row of the table."""
    requests = max(family.threads, int(family.requests * scale))
    tally, rngs = Tally(), [random.Random(f"{family.name}-{n}") for n in range(family.threads)]
    tracebacks, cpu = server.tracebacks(), server.cpu_seconds()
    pipe.send(("report", None))
    pipe.recv()  # the good client's figures start now
    began = time.monotonic()
    deadline = began + seconds
    threads = [threading.Thread(target=family.worker, args=(server.address, rng, requests // family.threads,
                                                           deadline, tally)) for rng in rngs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    time.sleep(0.5)  # the server takes the last connections and writes what it will about them
    window = time.monotonic() - began
    pipe.send(("report", None))
    good_requests, worst, good_failed = pipe.recv()
    return [family.name, str(tally.requests), str(tally.server_errors), str(tally.unanswered + good_failed),
            str(server.tracebacks() - tracebacks), f"{worst:.3f}", str(good_requests), f"{server.peak_rss_mib():.0f}",
            f"{(server.cpu_seconds() - cpu) / window:.0%}", f"{elapsed:.1f}"]


HEADER = ["family", "requests", "5xx", "unanswered", "tracebacks", "good worst s", "good reqs", "peak RSS MiB",
          "server CPU", "seconds"]


def print_row(row: list[str]) -> None:
    """One line of the table, columns aligned."""
    print(f"{row[0]:22}" + "".join(f"{cell:>13}" for cell in row[1:]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every family's request count")
    parser.add_argument("--family-seconds", type=float, default=60.0, help="the most one family may take")
    parser.add_argument("--only", action="append", metavar="FAMILY", help="run only this family (repeatable)")
    args = parser.parse_args()
    chosen = [family for family in FAMILIES if not args.only or family.name in args.only]
    fd_limit_chosen = not args.only or FD_LIMIT_FAMILY.name in args.only
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or sockets of ours
    pipe, child_end = context.Pipe()
    client = context.Process(target=good_client, args=(child_end,), daemon=True)
    client.start()
    totals = [0, 0, 0, 0]
    with tempfile.TemporaryDirectory() as folder:
        print_row(HEADER)
        with served(Path(folder, "serve.log")) as server:
            pipe.send(("target", server.address))
            rows: list[list[str]] = []
            for family in chosen:
                rows.append(run_family(family, server, pipe, args.scale, args.family_seconds))
                print_row(rows[-1])
        if fd_limit_chosen:
            with served(Path(folder, "serve-fd-limit.log"), fd_limit=FD_LIMIT) as limited:
                pipe.send(("target", limited.address))
                rows.append(run_family(FD_LIMIT_FAMILY, limited, pipe, args.scale, args.family_seconds))
                print_row(rows[-1])
    pipe.send(("stop", None))
    client.join(timeout=15)
    for row in rows:
        totals = [total + int(cell) for total, cell in zip(totals, row[1:5])]
    print(f"total: {totals[0]} requests, {totals[1]} 5xx, {totals[2]} unanswered, {totals[3]} tracebacks; "
          f"worst good wait {max(float(row[5]) for row in rows):.3f} s")


if __name__ == "__main__":
    main()
