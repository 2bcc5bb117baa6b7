"""Start the reference server in its own process for a benchmark, so client and server share no GIL."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def server_process() -> Iterator[tuple[str, int]]:
    """`conformance serve --port 0` in a subprocess; yields its (host, port), stops it after."""
    server = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        match = re.search(r"http://([\d.]+):(\d+)", line)
        if not match:
            sys.exit(f"the server did not start: {line!r}")
        yield match.group(1), int(match.group(2))
    finally:
        server.terminate()
        server.wait(timeout=10)
