"""The `conformance` command: `run` the suite, `serve` the reference server, derive `schemas`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from typing import TYPE_CHECKING

from conformance import __version__

if TYPE_CHECKING:
    from conformance.target import Target

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


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


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of requests per second > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the suite against an endpoint (default: the embedded reference server)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--endpoint-url", help="the endpoint serving both operations (default: start the reference server)")
    where.add_argument("--target", choices=["reference", "moto"], default=None,
                       help="start this target on loopback and test it: the reference server (default) or moto")
    run.add_argument("--region", default=None, help="region to sign for (default: $AWS_DEFAULT_REGION or us-east-1)")
    run.add_argument("--profile", default=None, help="AWS profile for an AWS endpoint's credentials")
    run.add_argument("--operation", action="append", default=[], metavar="NAME",
                     help="test only this operation (repeatable; default: all)")
    run.add_argument("--protocol", choices=["awsJson1_1", "rpcv2Cbor", "all"], default="all",
                     help="wire protocol(s) to test; 'all' (default) is every one the operation's model lists, "
                          "and one that is not served is only reported; a protocol named here must be served")
    run.add_argument("--max-examples", type=_count, default=100, help="generated cases per operation (default: 100)")
    run.add_argument("--seed", type=_count, default=None, help="the same seed repeats a run exactly (default: random)")
    run.add_argument("--workers", type=_positive_int, default=4, help="requests in flight at once (default: 4)")
    run.add_argument("--rate", type=_rate, default=None, help="at most this many requests per second")
    run.add_argument("--no-create-jobs", action="store_true", help="never start jobs (so no success-path cases)")
    run.add_argument("--settle-timeout", type=_seconds, default=60.0, metavar="SECONDS",
                     help="how long a stopped job may stay STOP_REQUESTED (default: 60; 0: do not wait)")
    run.add_argument("--report-json", type=Path, default=None, metavar="PATH", help="write the JSON report here")
    run.add_argument("--junitxml", type=Path, default=None, metavar="PATH", help="write a JUnit XML report here")

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
    serve.add_argument("--variant", default=None, metavar="NAME",
                       help="serve a faulty or legally different variant (see --list-variants)")
    serve.add_argument("--list-variants", action="store_true", help="list the variants and exit")
    serve.add_argument("--enforce-sigv4", action="store_true",
                       help="serve only requests SigV4-signed with the built-in test keys, as AWS answers the rest")
    serve.add_argument("--throttle", type=_rate, default=None, metavar="RATE",
                       help="answer ThrottlingException to requests over RATE per second")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler = {"run": _run, "schemas": _schemas, "serve": _serve}[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as other tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


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

    from conformance.reference import variants
    from conformance.reference.aws_mode import SigV4Verifier, Throttle

    if args.list_variants:
        for variant in sorted(variants.VARIANTS.values(), key=lambda v: (v.family, v.name)):
            print(f"{variant.name:36} {variant.family:13} {variant.description}")
        return EXIT_OK
    timings = Timings(args.job_queued_seconds, args.job_running_seconds, args.job_stopping_seconds)
    http = variants.HttpOptions()
    verifier = SigV4Verifier() if args.enforce_sigv4 else None
    throttle = Throttle(args.throttle) if args.throttle else None
    try:
        if args.variant:
            app = variants.build_app(args.variant, timings=timings, schema_dir=args.schemas, region=args.region,
                                     verifier=verifier, throttle=throttle)
            http = app.variant.http
        else:
            app = ReferenceApp(JobStore(SystemClock(), timings), schema_dir=args.schemas, region=args.region,
                               verifier=verifier, throttle=throttle)
        server = ReferenceServer(args.host, args.port, app, max_body_bytes=args.max_body_bytes, verbose=args.verbose,
                                 http_options=http)
    except variants.UnknownVariant as exc:
        return _error(str(exc).strip('"'))
    except SchemaDocumentError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    services = sorted({route.operation.service.full_name for route in app.routes.values()})
    which = f"variant {args.variant} of the reference server" if args.variant else "reference server"
    print(f"{which} listening on {server.url} ({', '.join(services)}; awsJson1_1)", flush=True)
    print(f"operations: {', '.join(sorted(route.operation.name for route in app.routes.values()))}", flush=True)
    signing = f"SigV4 enforced (test access key ids: {', '.join(verifier.access_keys)})" if verifier \
        else "SigV4 not checked"
    throttling = f"throttled above {throttle.rate:g} requests/s" if throttle else "not throttled"
    print(f"modes: {signing}; {throttling}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    import contextlib
    import os
    import random

    from conformance.lifecycle import LifecycleConfig
    from conformance.model import SchemaDocumentError
    from conformance.report import json_report, junit, summarise, terminal
    from conformance.runner import ConfigurationError, RunConfig, run
    from conformance.target import TargetError
    from conformance.targets.moto import MotoUnavailable
    from conformance.transport import TargetUnreachable

    for path in (args.report_json, args.junitxml):
        if path is not None and not path.resolve().parent.is_dir():
            return _error(f"cannot write {path}: folder {path.resolve().parent} does not exist")
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    with contextlib.ExitStack() as stack:
        try:
            target = _target(args, region, stack)
        except (TargetError, SchemaDocumentError, MotoUnavailable) as exc:
            return _error(str(exc))
        config = RunConfig(target=target, operations=tuple(args.operation), max_examples=args.max_examples,
                           seed=seed, workers=args.workers, create_jobs=not args.no_create_jobs, rate=args.rate,
                           protocol=args.protocol,
                           lifecycle=LifecycleConfig(settle_timeout=args.settle_timeout))
        print(f"conformance run against {target.url} (seed {seed}; --seed {seed} repeats this run)", file=sys.stderr)
        try:
            result = run(config, progress=terminal.ProgressPrinter())
        except (ConfigurationError, SchemaDocumentError) as exc:
            return _error(str(exc))
        except TargetUnreachable as exc:
            print(f"conformance: target unreachable: {exc}", file=sys.stderr)
            return EXIT_UNREACHABLE
    summary = summarise(result)
    terminal.write(summary)
    try:
        if args.report_json:
            json_report.write(summary, args.report_json)
        if args.junitxml:
            junit.write(summary, args.junitxml)
    except OSError as exc:
        return _error(f"cannot write the report: {exc.strerror or exc}")
    return EXIT_OK if summary.conforms else EXIT_FAILED


def _target(args: argparse.Namespace, region: str, stack: object) -> Target:
    """The target of a run: the endpoint given, or the reference server started for the run."""
    from conformance.target import Target

    if args.target == "moto":
        from conformance.targets.moto import moto_server

        url = stack.enter_context(moto_server())  # type: ignore[attr-defined]
        return Target(url, region=region, name="moto")
    if args.endpoint_url is None:
        from conformance.reference import ReferenceServer

        server = stack.enter_context(ReferenceServer())  # type: ignore[attr-defined]
        return Target(server.url, region=region, name="embedded reference server")
    target = _credentials_target(args.endpoint_url, region, args.profile)
    if args.no_create_jobs:
        target = Target(target.url, target.region, target.credentials, target.name, creates_jobs=False)
    return target


def _credentials_target(url: str, region: str, profile: str | None) -> Target:
    """A target for a URL: botocore's credential chain for AWS endpoints, dummy credentials elsewhere."""
    from conformance.target import Target, TargetError

    target = Target(url, region=region)
    if not target.is_aws:
        return target
    import botocore.exceptions
    import botocore.session

    try:
        credentials = botocore.session.Session(profile=profile).get_credentials()
    except botocore.exceptions.ProfileNotFound:
        raise TargetError(f"no AWS profile named {profile!r}") from None
    if credentials is None:
        raise TargetError("no AWS credentials found (environment, profile, SSO or role) for an AWS endpoint")
    return Target(url, region=region, credentials=credentials.get_frozen_credentials(), name="AWS")
