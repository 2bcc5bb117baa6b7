"""The command line's value types and repeatable options: each refuses a value out of its bounds with a message,
never a traceback; the pytest plugin's options take the same values through these."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

# Bounds of the numeric flags: past them a value is a typo, or a run that never ends or never starts.
MAX_WORKERS = 256
MAX_EXAMPLES = 100_000  # generated cases per operation
MAX_BUDGET = 1_000_000_000
MAX_SEED = 2**64 - 1
MAX_SECONDS = 86_400.0  # a day: --settle-timeout and the reference server's job timings
MAX_READ_TIMEOUT = 3_600.0
MIN_RATE = 0.01  # requests per second: one every 100 s
MAX_BODY_BYTES = 1 << 30
MAX_NEAR_MISSES = 1_000  # per job flow: each is two requests
MAX_SHRINK_REQUESTS = 100_000  # per failing case
MAX_MACHINE_STEPS = 100_000  # requests of the state machine's runs
MAX_FAILURES = 1_000_000  # --max-failures: failing cases before the run stops


def whole(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `minimum` to `maximum`, in ASCII digits."""

    def parse(text: str) -> int:
        # str.isdigit() also passes '²' (which int() refuses) and '５' (which it reads as 5): take ASCII only,
        # and no more digits than the maximum has, before int() converts them.
        digits = text.isascii() and text.isdigit() and len(text.lstrip("0")) <= len(str(maximum))
        value = int(text) if digits else minimum - 1
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {minimum} to {maximum}")
        return value

    return parse


def real(minimum: float, maximum: float, what: str, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number of `what` from `minimum` (excluded when `above`) to `maximum`."""
    span = (f"> {minimum:g}" if above else f">= {minimum:g}") + (f" and <= {maximum:g}" if maximum < math.inf else "")

    def parse(text: str) -> float:
        try:
            value = float(text) if text.isascii() else math.nan  # float() too reads '５' as 5
        except ValueError:
            value = math.nan
        in_range = (minimum < value if above else minimum <= value) and value <= maximum
        if not (math.isfinite(value) and in_range):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of {what} {span}")
        return value

    return parse


port = whole(0, 65535)  # 0 picks a free one
examples = whole(0, MAX_EXAMPLES)
seed = whole(0, MAX_SEED)
workers = whole(1, MAX_WORKERS)
budget = whole(1, MAX_BUDGET)
body_bytes = whole(1, MAX_BODY_BYTES)
seconds = real(0.0, MAX_SECONDS, "seconds")
failures = whole(1, MAX_FAILURES)
run_time = real(0.0, MAX_SECONDS, "seconds", above=True)  # --max-time: 0 would stop a run before its probe
timeout = real(0.0, MAX_READ_TIMEOUT, "seconds", above=True)
# Below MIN_RATE the wait between requests (1/rate) runs to hours, or overflows time.sleep.
rate = real(MIN_RATE, math.inf, "requests per second")


class ReplaceDefault(argparse._AppendAction):
    """A repeatable option whose first use on the command line replaces its default list (a config file's), rather
    than adding to it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        seen = f"_given_{self.dest}"
        if not getattr(namespace, seen, False):
            setattr(namespace, self.dest, [])
            setattr(namespace, seen, True)
        super().__call__(parser, namespace, values, option_string)
