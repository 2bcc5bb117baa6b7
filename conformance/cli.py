"""The `conformance` command: `schemas` and `serve`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535; 0 picks a free one)")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    schemas = commands.add_parser("schemas", help="derive JSON Schemas from API reference pages")
    schemas.add_argument("--docs", type=Path, default=Path("../shared/seeds"),
                         help="a reference page (.md) or a folder of them (default: ../shared/seeds)")
    schemas.add_argument("--out", type=Path, default=Path("schemas"), help="output folder (default: schemas)")
    schemas.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if --out differs from what the pages yield")

    serve = commands.add_parser("serve", help="run the reference server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: 8000; 0 picks a free one)")
    serve.add_argument("--region", default="us-east-1", help="region for job ARNs of unsigned requests")
    serve.add_argument("--schemas", type=Path, default=None, help="folder of schema documents (default: bundled)")
    serve.add_argument("--job-queued-seconds", type=_seconds, default=1.0, help="SUBMITTED lasts this long")
    serve.add_argument("--job-running-seconds", type=_seconds, default=600.0, help="IN_PROGRESS lasts this long")
    serve.add_argument("--job-stopping-seconds", type=_seconds, default=2.0, help="STOP_REQUESTED lasts this long")
    serve.add_argument("--max-body-bytes", type=_positive_int, default=1 << 20, help="larger bodies get 413")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler = {"schemas": _schemas, "serve": _serve}[args.command]
    return handler(args)


def _error(message: str) -> int:
    print(f"conformance: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _schemas(args: argparse.Namespace) -> int:
    from conformance import schemagen
    from conformance.botocore_model import BotocoreModelError
    from conformance.docs import DocsError

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
        return _error(str(exc))
    except OSError as exc:
        return _error(f"{exc.filename or args.out}: {exc.strerror or exc}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from conformance.model import SchemaDocumentError
    from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings

    timings = Timings(args.job_queued_seconds, args.job_running_seconds, args.job_stopping_seconds)
    try:
        app = ReferenceApp(JobStore(SystemClock(), timings), schema_dir=args.schemas, region=args.region)
        server = ReferenceServer(args.host, args.port, app, max_body_bytes=args.max_body_bytes, verbose=args.verbose)
    except SchemaDocumentError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    services = sorted({route.operation.service.full_name for route in app.routes.values()})
    print(f"reference server listening on {server.url} ({', '.join(services)}; awsJson1_1)", flush=True)
    print(f"operations: {', '.join(sorted(route.operation.name for route in app.routes.values()))}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return EXIT_OK
