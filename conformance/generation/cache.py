"""One home for what generation builds once per process: strategies, string spaces, case streams.

As Hypothesis's `@cacheable`: a function decorated with `cached` gives the same object for equal
arguments (by a key function where the arguments do not hash), built once under one lock, and
`clear_caches` forgets all of it at once, as a new process would (for tests and benchmarks that time
building). A table a hot path reads without the lock is a `memo_table`, cleared with the rest.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_LOCK = threading.RLock()  # reentrant: building one cached value builds others
_TABLES: list[dict[Any, Any]] = []


def memo_table() -> dict[Any, Any]:
    """A dict of the process's memo, emptied by `clear_caches`."""
    table: dict[Any, Any] = {}
    _TABLES.append(table)
    return table


class Cached(Generic[P, T]):
    """A function whose value is built once for equal arguments (or equal `key(*args, **kwargs)`)."""

    def __init__(self, function: Callable[P, T], key: Callable[..., Hashable] | None) -> None:
        functools.update_wrapper(self, function)
        self._function, self._key, self._table = function, key, memo_table()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        found = self._key(*args, **kwargs) if self._key is not None else (args, tuple(sorted(kwargs.items())))
        with _LOCK:
            if found not in self._table:
                self._table[found] = self._function(*args, **kwargs)
            return self._table[found]  # type: ignore[no-any-return]

    def cached_values(self) -> list[T]:
        """Every value built so far."""
        with _LOCK:
            return list(self._table.values())

    def cache_clear(self) -> None:
        """Forget this function's values (the rest of the memo stays)."""
        with _LOCK:
            self._table.clear()


def cached(key: Callable[..., Hashable] | None = None) -> Callable[[Callable[P, T]], Cached[P, T]]:
    """The function's value for equal arguments (or equal `key(*args, **kwargs)`), built once."""
    return lambda function: Cached(function, key)


def clear_caches() -> None:
    """Forget everything built, as a new process would have nothing."""
    with _LOCK:
        for table in _TABLES:
            table.clear()
