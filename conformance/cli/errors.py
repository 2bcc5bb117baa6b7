"""How the command line ends: its exit statuses and its one-line errors (never a traceback for a user's mistake)."""

from __future__ import annotations

import sys

# The verdicts' exit statuses live with the verdict (engine.verdict.EXIT_STATUS): 0 conforms,
# 1 does not conform, 3 unreachable, 4 incomplete; these are the command line's own.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def error(message: str) -> int:
    """Say what is wrong in one line on stderr; the usage exit status."""
    print(f"conformance: error: {message}", file=sys.stderr)
    return EXIT_USAGE
