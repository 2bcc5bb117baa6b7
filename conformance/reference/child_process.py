"""The embedded reference server in a forked process of its own, for the length of a run.

In the run's own process, the server's answering and the suite's sending and judging share one
GIL, so a run against the embedded server went at the rate of one core. A fork serves from the
server already bound (no second start-up, no port to pass back), and the run's process keeps no
copy of the listening socket: every connection reaches the child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from conformance.reference.server import ReferenceServer


def can_serve_in_child_process() -> bool:
    """Whether the server can be forked off here: a POSIX fork (not macOS's), from a process with one thread (a
    fork copies no other thread, and a lock one of them held would stay held in the child)."""
    return hasattr(os, "fork") and sys.platform != "darwin" and threading.active_count() == 1


@contextlib.contextmanager
def serving_in_child_process(server: ReferenceServer) -> Iterator[str]:
    """Serve `server` (bound, not started) from a forked child until the block ends, yielding its URL; on a
    background thread of this process where it cannot be forked off."""
    if not can_serve_in_child_process():
        with server:
            yield server.url
        return
    lifeline, keep_alive = os.pipe()  # the child ends when this process does, however it ends
    try:
        pid = os.fork()
    except OSError:  # no fork to be had (a process limit, no memory): served from a thread, as where none exists
        os.close(lifeline)
        os.close(keep_alive)
        with server:
            yield server.url
        return
    if pid == 0:  # the child: serve until told to stop, or until the run's process is gone
        try:
            os.close(keep_alive)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # on Ctrl-C the run still stops its jobs through the server
            threading.Thread(target=_end_with_parent, args=(lifeline,), daemon=True).start()
            server.start()
            threading.Event().wait()
        finally:
            os._exit(0)
    os.close(lifeline)
    url = server.url
    server._httpd.socket.close()  # the child's alone
    try:
        yield url
    finally:
        os.close(keep_alive)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # its jobs end with the run: nothing to save
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _end_with_parent(lifeline: int) -> None:
    with contextlib.suppress(OSError):
        os.read(lifeline, 1)  # returns at EOF: every copy of the write end is closed
    os._exit(0)
