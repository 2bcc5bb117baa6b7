"""moto's server (the `moto` extra) on a loopback port, in a process of its own.

moto prints to stdout as it serves (for example for every Comprehend Medical request, which it
has no backend for), so it runs in a subprocess whose output goes nowhere once it has said its port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class MotoUnavailable(RuntimeError):
    """moto is not installed, or its server did not start."""


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on 127.0.0.1 with a free port; yields its URL, stops it after."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise MotoUnavailable("moto is not installed: pip install 'aws-comprehend-conformance[moto]'") from None
    process = subprocess.Popen([sys.executable, "-m", "conformance.targets.moto"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, stdin=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip() if process.stdout else ""
        if not line.isdigit():
            raise MotoUnavailable(f"moto's server did not start (it said {line!r})")
        yield f"http://127.0.0.1:{line}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    """Serve until stdin closes; the first line of output is the port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.stdin.read()  # the parent closes stdin, or terminates us
    server.stop()


if __name__ == "__main__":
    main()
