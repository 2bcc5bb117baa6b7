"""The `conformance` command: `run` the suite, `serve` the reference server, derive `schemas`.

One module per command (`run_command`, `serve_command`, `schemas_command`), the parser and its option
groups (`parser`), the value types (`arguments`) and the config file (`config_file`).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence

from conformance.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from conformance.cli.parser import build_parser

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "entry", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    # Each command's modules are imported when it runs: `serve` never loads the suite's engine.
    if args.command == "run":
        from conformance.cli.run_command import run_command as handler
    elif args.command == "record":
        from conformance.cli.record_command import record_command as handler
    elif args.command == "diff":
        from conformance.cli.diff_command import diff_command as handler
    elif args.command == "serve":
        from conformance.cli.serve_command import serve_command as handler
    else:
        from conformance.cli.schemas_command import schemas_command as handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _hypothesis_home() -> None:
    """Keep Hypothesis's files (its Unicode tables; the CLI keeps no example database) in the user's cache, not in a
    `.hypothesis/` folder it would otherwise leave in the current directory."""
    from hypothesis.configuration import set_hypothesis_home_dir

    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    set_hypothesis_home_dir(os.path.join(cache, "conformance", "hypothesis"))


def entry() -> int:
    """`conformance` as a program: `main`, in a process that ends with it."""
    _hypothesis_home()  # here, not in `main`: a test session calling `main` keeps its own Hypothesis folder
    status = main()
    # The process ends now: its objects need no last pass of the cycle collector at exit, which took longer
    # than a tenth of a default run. (Not in `main`, which a long-lived process such as a test session calls.)
    gc.freeze()
    return status
