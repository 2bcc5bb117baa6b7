"""The embedded reference server forked off for a run: it serves, and it ends with the run however the run ends."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import textwrap
import time
from urllib.parse import urlsplit

import pytest

from conformance.reference import embedded_server
from conformance.reference.child_process import can_serve_in_child_process, serving_in_child_process

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="no fork here")

# A single-threaded process (as `conformance run` is when it starts the server): serves apart, asks /health.
CLIENT = textwrap.dedent("""
    import http.client, os, sys, threading
    from urllib.parse import urlsplit
    from conformance.reference import embedded_server
    from conformance.reference.child_process import can_serve_in_child_process, serving_in_child_process
    assert can_serve_in_child_process()
    with serving_in_child_process(embedded_server()) as url:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        connection.request("GET", "/health")
        print(connection.getresponse().status, threading.active_count(), flush=True)
        if sys.argv[1:] == ["hang"]:
            print(url, flush=True)
            threading.Event().wait()
""")


def health(url: str) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status
    finally:
        connection.close()


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone too: its parent was killed before reaping it
                if stat.read().split(") ")[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_single_threaded_run_serves_from_a_child_and_reaps_it() -> None:
    done = subprocess.run([sys.executable, "-c", CLIENT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    status, threads = done.stdout.split()
    assert status == "200" and threads == "1"  # answered, and by no thread of the run's process


def test_the_child_ends_when_the_run_is_killed() -> None:
    run = subprocess.Popen([sys.executable, "-c", CLIENT, "hang"], stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout is not None
        assert run.stdout.readline().split()[0] == "200"
        url = run.stdout.readline().strip()
        children = children_of(run.pid)
        assert len(children) == 1 and health(url) == 200
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=10)
        assert gone(children[0])  # its lifeline closed with the run
        with pytest.raises(OSError):
            health(url)
    finally:
        run.kill()


def test_where_it_cannot_fork_safely_it_serves_from_a_thread() -> None:
    import threading
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_serve_in_child_process()  # another thread: a fork could copy a held lock
        with serving_in_child_process(embedded_server()) as url:
            assert health(url) == 200
    finally:
        stop.set()
        other.join()


def test_where_fork_fails_it_serves_from_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance.reference.child_process as apart

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(apart, "can_serve_in_child_process", lambda: True)
    monkeypatch.setattr(os, "fork", no_fork)
    with serving_in_child_process(embedded_server()) as url:
        assert health(url) == 200
