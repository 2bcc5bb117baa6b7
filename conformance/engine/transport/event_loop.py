"""The one event loop a transport sends on: uvloop's where it is installed, else asyncio's, on a thread of its own.

Every request of a run goes out from this loop, whichever thread asks (`run` blocks the caller until
its coroutine is done; `submit` does not). Many connections are driven at once by one thread, so no
sending thread waits to retake the GIL after each send, as a pool of worker threads did.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

try:  # a C event loop (libuv): faster sockets and callbacks; asyncio's own does the same, slower
    import uvloop
except ImportError:  # pragma: no cover - uvloop is not built for Windows
    uvloop = None

T = TypeVar("T")


class SenderLoop:
    """An event loop on a daemon thread, started at the first request and stopped by `close`."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        """Which event loop sends: "uvloop" or "asyncio"."""
        return "uvloop" if uvloop is not None else "asyncio"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, started if it was not."""
        with self._lock:
            if self._loop is None:
                loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
                ready = threading.Event()
                loop.call_soon(ready.set)
                self._thread = threading.Thread(target=loop.run_forever, name="conformance-sender", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    @property
    def started(self) -> bool:
        """Whether the loop runs."""
        return self._loop is not None

    def on_loop(self) -> bool:
        """Whether the caller is the loop's own thread (which must never block on it)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start a coroutine on the loop; its future, to wait on from any other thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result (from any thread but the loop's). Interrupted (Ctrl-C),
        the coroutine is cancelled."""
        if self.on_loop():
            coroutine.close()
            raise RuntimeError("a blocking send from the sending loop's own thread")
        future = self.submit(coroutine)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        """Cancel what is still running, stop the loop and its thread."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:  # closed from the loop itself: stop once this callback returns
            loop.call_soon(loop.stop)
            return

        async def cancel_all() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout=5)
        except (concurrent.futures.TimeoutError, RuntimeError):  # a task that will not end: the loop stops anyway
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()
