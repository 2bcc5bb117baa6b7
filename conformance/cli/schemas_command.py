"""`conformance schemas`: JSON Schemas derived from the API reference pages."""

from __future__ import annotations

import argparse

from conformance.cli.errors import EXIT_FAILED, EXIT_OK, error
from conformance.model import schemagen
from conformance.model.botocore_model import BotocoreModelError
from conformance.model.pages import DocsError


def schemas_command(args: argparse.Namespace) -> int:
    """`conformance schemas`: derive (or, with --check, compare) the schema documents; the exit status."""
    try:
        if args.check:
            problems = schemagen.differences(args.docs, args.out)
            for line in problems:
                print(line)
            print(f"{len(problems)} difference(s) between {args.out} and {args.docs}")
            return EXIT_FAILED if problems else EXIT_OK
        for path in schemagen.write(args.docs, args.out):
            print(f"wrote {path}")
    except (DocsError, BotocoreModelError) as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"{exc.filename or args.out}: {exc.strerror or exc}")
    return EXIT_OK
