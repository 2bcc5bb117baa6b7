"""The `conformance` command: `run` the suite, `serve` the reference server, derive `schemas`."""

from __future__ import annotations

import argparse
import gc
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from typing import TYPE_CHECKING

from conformance import __version__

if TYPE_CHECKING:
    from botocore.credentials import Credentials

    from conformance.runner import RunConfig
    from conformance.target import Target

# The verdicts' exit statuses live with the verdict (conformance.verdict.EXIT_STATUS): 0 conforms,
# 1 does not conform, 3 unreachable, 4 incomplete; these two are the command line's own.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# Bounds of the numeric flags: past them a value is a typo, or a run that never ends or never starts.
MAX_WORKERS = 256
MAX_EXAMPLES = 100_000  # generated cases per operation
MAX_BUDGET = 1_000_000_000
MAX_SEED = 2**64 - 1
MAX_SECONDS = 86_400.0  # a day: --settle-timeout and the reference server's job timings
MAX_READ_TIMEOUT = 3_600.0
MIN_RATE = 0.01  # requests per second: one every 100 s
MAX_BODY_BYTES = 1 << 30


def _whole(minimum: int, maximum: int) -> Callable[[str], int]:
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


def _real(minimum: float, maximum: float, what: str, above: bool = False) -> Callable[[str], float]:
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


_port = _whole(0, 65535)  # 0 picks a free one
_examples = _whole(0, MAX_EXAMPLES)
_seed = _whole(0, MAX_SEED)
_workers = _whole(1, MAX_WORKERS)
_budget = _whole(1, MAX_BUDGET)
_body_bytes = _whole(1, MAX_BODY_BYTES)
_seconds = _real(0.0, MAX_SECONDS, "seconds")
_timeout = _real(0.0, MAX_READ_TIMEOUT, "seconds", above=True)
# Below MIN_RATE the wait between requests (1/rate) runs to hours, or overflows time.sleep.
_rate = _real(MIN_RATE, math.inf, "requests per second")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the suite against an endpoint (default: the embedded reference server)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--endpoint-url", help="the endpoint serving both operations (default: start the reference server)")
    where.add_argument("--target", choices=["reference", "moto", "aws"], default=None,
                       help="reference (default) or moto: start it on loopback and test it; aws: the region's AWS "
                            "endpoints (or $AWS_ENDPOINT_URL, $AWS_ENDPOINT_URL_COMPREHEND, "
                            "$AWS_ENDPOINT_URL_COMPREHENDMEDICAL), with credentials from botocore's chain")
    run.add_argument("--region", default=None, help="region to sign for (default: $AWS_DEFAULT_REGION or us-east-1)")
    run.add_argument("--profile", default=None, help="AWS profile for an AWS endpoint's credentials")
    run.add_argument("--allow-credentials-to-custom-endpoint", action="store_true",
                     help="sign with your AWS credentials for an endpoint outside amazonaws.com (never done otherwise)")
    run.add_argument("--operation", action=_ReplaceDefault, default=[], metavar="NAME",
                     help="test only this operation (repeatable; default: the mission's two, StopPiiEntitiesDetectionJob "
                          "and StopPHIDetectionJob)")
    run.add_argument("--all-operations", action="store_true",
                     help="test every operation with a schema document (the whole family of Stop-job operations)")
    run.add_argument("--schemas", type=Path, default=None, metavar="DIR",
                     help="a folder of schema documents (from `conformance schemas`): test every operation they "
                          "describe; the embedded reference server serves them too (default: the bundled ones)")
    run.add_argument("--protocol", choices=["awsJson1_1", "rpcv2Cbor", "all"], default="all",
                     help="wire protocol(s) to test; 'all' (default) is every one the operation's model lists: the "
                          "one AWS SDKs send (awsJson1_1) must be served, another may be left out; a protocol "
                          "named here must be served")
    run.add_argument("--max-examples", type=_examples, default=100,
                     help=f"generated cases per operation (default: 100; at most {MAX_EXAMPLES:,})")
    run.add_argument("--seed", type=_seed, default=None, help="the same seed repeats a run exactly (default: random)")
    run.add_argument("--workers", type=_workers, default=4,
                     help=f"requests in flight at once (default: 4; at most {MAX_WORKERS})")
    run.add_argument("--rate", type=_rate, default=None,
                     help=f"at most this many requests per second, {MIN_RATE:g} or more (lowered further while the "
                          "target throttles)")
    run.add_argument("--budget", type=_budget, default=None, metavar="N",
                     help="send at most N requests; the first ~80 per operation and protocol cover every case category")
    run.add_argument("--accept-incomplete", action="store_true",
                     help="exit 0 for an incomplete run (nothing failed, but a budget or throttling left promised "
                          "case categories unjudged); without it such a run exits 4")
    run.add_argument("--read-timeout", type=_timeout, default=30.0, metavar="SECONDS",
                     help="an answer that takes longer is a failure of its case (after one retry; default: 30)")
    run.add_argument("--dry-run", action="store_true",
                     help="print every request the run would send, redacted; send none (no report: --report-json "
                          "and --junitxml are refused with it)")
    run.add_argument("--verbose", action="store_true", help="log every request and answer to stderr (redacted)")
    jobs = run.add_argument_group("jobs", "Stop's success path needs a running job. The reference server and moto "
                                          "start jobs for free; on AWS a job costs money and needs S3 data and a role, "
                                          "so the suite starts one only with --create-jobs.")
    creating = jobs.add_mutually_exclusive_group()
    creating.add_argument("--create-jobs", action="store_true",
                          help="on AWS: start (and at once stop) one job per operation and protocol served")
    creating.add_argument("--no-create-jobs", action="store_true", help="never start jobs (so no success-path cases)")
    jobs.add_argument("--input-s3-uri", default=None, metavar="S3_URI",
                      help="with --create-jobs on AWS: documents to read (keep it to one short document)")
    jobs.add_argument("--output-s3-uri", default=None, metavar="S3_URI", help="with --create-jobs on AWS: where to write")
    jobs.add_argument("--data-access-role-arn", default=None, metavar="ARN",
                      help="with --create-jobs on AWS: a role both services may assume to read and write those")
    run.add_argument("--settle-timeout", type=_seconds, default=60.0, metavar="SECONDS",
                     help="how long a stopped job may stay STOP_REQUESTED (default: 60; 0: do not wait; at most "
                          f"{MAX_SECONDS:g})")
    run.add_argument("--check", action=_ReplaceDefault, default=[], metavar="ID",
                     help="judge only this check (repeatable; default: all)")
    run.add_argument("--exclude-check", action=_ReplaceDefault, default=[], metavar="ID",
                     help="do not judge this check (repeatable)")
    run.add_argument("--fail-fast", action="store_true",
                     help="send no further case after the first failure of an error-severity check (started jobs "
                          "are still stopped)")
    run.add_argument("--rerun", type=Path, default=None, metavar="REPORT",
                     help="send only the failed cases of an earlier --report-json report, over the lanes they name")
    run.add_argument("--report-json", type=Path, default=None, metavar="PATH", help="write the JSON report here")
    run.add_argument("--junitxml", type=Path, default=None, metavar="PATH", help="write a JUnit XML report here")
    run.add_argument("--report-markdown", type=Path, default=None, metavar="PATH",
                     help="write a Markdown summary here (fit for $GITHUB_STEP_SUMMARY)")
    _config_defaults(run)

    schemas = commands.add_parser("schemas", help="derive JSON Schemas from API reference pages")
    schemas.add_argument("--docs", type=Path, default=Path("api-reference-pages"),
                         help="a reference page (.md) or a folder of them (default: api-reference-pages)")
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
    serve.add_argument("--max-body-bytes", type=_body_bytes, default=1 << 20, help="larger bodies get 413")
    serve.add_argument("--max-connections", type=_whole(1, 1_000_000), default=None, metavar="N",
                       help="open connections at most; beyond it the one idle longest is closed (default: 1000, "
                            "lowered to fit the file-descriptor limit)")
    serve.add_argument("--verbose", action="store_true",
                       help="log every request to stderr (as --log-requests), and each connection a client drops")
    serve.add_argument("--log-requests", action="store_true",
                       help="one line per request on stderr: method, path, protocol, operation, status, duration")
    serve.add_argument("--shutdown-grace", type=_seconds, default=10.0, metavar="SECONDS",
                       help="on SIGTERM, stop accepting and give answers in flight this long (default: 10)")
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


def entry() -> int:
    """`conformance` as a program: `main`, in a process that ends with it."""
    status = main()
    # The process ends now: its objects need no last pass of the cycle collector at exit, which took longer
    # than a tenth of a default run. (Not in `main`, which a long-lived process such as a test session calls.)
    gc.freeze()
    return status


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
    import signal
    import threading

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
        limits = {"max_connections": args.max_connections} if args.max_connections else {}
        server = ReferenceServer(args.host, args.port, app, max_body_bytes=args.max_body_bytes, verbose=args.verbose,
                                 http_options=http, log_requests=args.log_requests,
                                 shutdown_grace=args.shutdown_grace, **limits)
    except variants.UnknownVariant as exc:
        return _error(str(exc).strip('"'))
    except SchemaDocumentError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    services = sorted({route.operation.service.full_name for route in app.routes.values()})
    which = f"variant {args.variant} of the reference server" if args.variant else "reference server"
    print(f"{which} listening on {server.url} ({', '.join(services)}; {', '.join(sorted(app.protocols))})",
          flush=True)
    print(f"operations: {', '.join(sorted(route.operation.name for route in app.routes.values()))}", flush=True)
    signing = f"SigV4 enforced (test access key ids: {', '.join(verifier.access_keys)})" if verifier \
        else "SigV4 not checked"
    throttling = f"throttled above {throttle.rate:g} requests/s" if throttle else "not throttled"
    print(f"modes: {signing}; {throttling}", flush=True)
    # SIGTERM (docker stop, systemd, Kubernetes) stops gracefully. interrupt() waits for the serving loop
    # to end, and the loop runs on this thread: called from the handler, it would wait for itself.
    previous = signal.signal(signal.SIGTERM,
                             lambda signum, frame: threading.Thread(target=server.interrupt, daemon=True).start())
    try:
        cut = server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)  # main() may be called again in this process (tests do)
    ending = f"{cut} answer(s) still in flight after {args.shutdown_grace:g} s were cut" if cut \
        else "every answer in flight was finished"
    print(f"stopped on SIGTERM: {ending}", flush=True)
    return EXIT_OK


def _config_defaults(run: argparse.ArgumentParser) -> None:
    """Make the config file's options (if any) the run command's defaults; a bad file is reported by `_run`."""
    from conformance import config

    try:
        found = config.find(Path.cwd())
        if found is not None:
            run.set_defaults(**config.defaults(run, *found))
    except config.ConfigFileError as exc:
        run.set_defaults(config_error=str(exc))


class _ReplaceDefault(argparse._AppendAction):
    """A repeatable option whose first use on the command line replaces its default list (a config file's), rather
    than adding to it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        seen = f"_given_{self.dest}"
        if not getattr(namespace, seen, False):
            setattr(namespace, self.dest, [])
            setattr(namespace, seen, True)
        super().__call__(parser, namespace, values, option_string)


def _selected_checks(args: argparse.Namespace) -> tuple[str, ...]:
    """The checks --check and --exclude-check select (empty: all); ValueError names an unknown id."""
    from conformance.checks import REGISTRY

    unknown = [check for check in args.check + args.exclude_check if check not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)} (known: {', '.join(sorted(REGISTRY))})")
    if not args.exclude_check:
        return tuple(args.check)
    return tuple(check for check in (args.check or REGISTRY) if check not in args.exclude_check)


def _run(args: argparse.Namespace) -> int:
    import contextlib
    import os
    import random

    from conformance import config as config_file
    from conformance.lifecycle import LifecycleConfig
    from conformance.model import SchemaDocumentError
    from conformance.report import json_report, junit, markdown, summarise, terminal
    from conformance.runner import ConfigurationError, RunConfig, RunInterrupted, run
    from conformance.target import TargetError
    from conformance.targets.moto import MotoUnavailable

    if getattr(args, "config_error", None):
        return _error(args.config_error)
    problem = _reports_problem(args)
    if problem:  # found before anything is sent, not after the verdict, whose exit status it would replace
        return _error(problem)
    try:
        checks = _selected_checks(args)
        rerun, rerun_flows = config_file.rerun_plan(args.rerun) if args.rerun else (None, True)
    except (ValueError, config_file.ConfigFileError) as exc:
        return _error(str(exc))
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    with contextlib.ExitStack() as stack:
        try:
            target = _target(args, region, stack)
        except (TargetError, SchemaDocumentError, MotoUnavailable) as exc:
            return _error(str(exc))
        config = RunConfig(target=target, operations=tuple(args.operation), all_operations=args.all_operations,
                           schema_dir=args.schemas, max_examples=args.max_examples,
                           seed=seed, workers=args.workers, rate=args.rate,
                           create_jobs=not args.no_create_jobs and rerun_flows,
                           protocol=args.protocol, budget=args.budget, read_timeout=args.read_timeout,
                           lifecycle=LifecycleConfig(settle_timeout=args.settle_timeout), checks=checks,
                           fail_fast=args.fail_fast, rerun=rerun)
        if args.dry_run:
            return _dry_run(config)
        _log_exchanges(args.verbose, target)
        try:
            if target.job_setup is not None:
                print(_cost_statement(config), file=sys.stderr)
            print(f"conformance run against {', '.join(target.urls())} ({target.name}, {region}; seed {seed}; "
                  f"--seed {seed} repeats this run)", file=sys.stderr)
            result = run(config, progress=terminal.ProgressPrinter())
        except (ConfigurationError, SchemaDocumentError) as exc:
            return _error(str(exc))
        except RunInterrupted as interrupted:  # report what was judged, marked interrupted (exit 130)
            print("conformance: interrupted; reporting what was judged so far", file=sys.stderr)
            result = interrupted.result
    summary = summarise(result)
    terminal.write(summary)
    try:
        if args.report_json:
            json_report.write(summary, args.report_json)
        if args.junitxml:
            junit.write(summary, args.junitxml)
        if args.report_markdown:
            markdown.write(summary, args.report_markdown)
    except OSError as exc:
        return _error(f"cannot write the report: {exc.strerror or exc}")
    return summary.decision.exit_status(args.accept_incomplete)


def _reports_problem(args: argparse.Namespace) -> str | None:
    """Why the run cannot write its reports where asked (one sentence), or None."""
    reports = {flag: path for flag, path in (("--report-json", args.report_json), ("--junitxml", args.junitxml),
                                             ("--report-markdown", args.report_markdown)) if path is not None}
    if args.dry_run and reports:
        return (f"--dry-run sends nothing, so it has no results for {' or '.join(reports)}: the requests it plans "
                "are printed on stdout")
    if len({path.resolve() for path in reports.values()}) < len(reports):
        return f"{' and '.join(reports)} both name one file: one report would overwrite another"
    for flag, path in reports.items():
        problem = _unwritable(path)
        if problem:
            return f"cannot write {flag} {path}: {problem}"
    return None


def _unwritable(path: Path) -> str | None:
    """Why a report cannot be written at `path` (found by opening it, changing nothing), or None."""
    import os

    if path.is_dir():
        return "it is a folder"
    folder = path.absolute().parent
    if not folder.is_dir():
        return f"folder {folder} does not exist"
    try:
        existed = path.exists()
        # Append, not write: the check must not empty a file it then fails to replace. A new file is made and
        # removed again, since only making it shows whether the folder takes one (os.access says yes to root).
        with path.open("ab" if existed else "xb"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    if not existed:
        os.unlink(path)
    return None


def _dry_run(config: RunConfig) -> int:
    """Print what the run would send, send nothing."""
    from conformance.report import plan
    from conformance.runner import ConfigurationError, planned_requests

    try:
        requests = planned_requests(config)
    except ConfigurationError as exc:
        return _error(str(exc))
    plan.write(requests, config.target)
    return EXIT_OK


def _log_exchanges(verbose: bool, target: Target) -> None:
    """With --verbose, every request and answer on stderr; secrets are redacted from every record."""
    if not verbose:
        return
    import logging

    from conformance.redaction import RedactingFilter, secrets_of

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(secrets_of(target)))  # on the handler: it sees botocore's records too
    logging.getLogger().addHandler(handler)
    logging.getLogger("conformance").setLevel(logging.DEBUG)


def _cost_statement(config: RunConfig) -> str:
    """What starting real jobs costs, said before any is started."""
    from conformance.phases.jobs import JobsPhase
    from conformance.planning import lanes_for, select_operations

    lanes = JobsPhase().flows_for(config, lanes_for(config, select_operations(config)))
    starts = sorted({api.start for _, api in lanes})
    return (f"--create-jobs: this run starts up to {len(lanes)} real job(s) ({', '.join(starts)}; one per operation "
            "and protocol the endpoint serves) and stops each at once. AWS bills each job as an asynchronous "
            "job, for the text it reads before it stops: keep --input-s3-uri to one short document. Pricing: "
            "https://aws.amazon.com/comprehend/pricing/ and https://aws.amazon.com/comprehend/medical/pricing/")


def _target(args: argparse.Namespace, region: str, stack: object) -> Target:
    """The target of a run: the endpoint given, AWS, or the reference server (or moto) started for the run."""
    from conformance.target import Target, TargetError

    if args.target == "moto":
        from conformance.targets.moto import moto_server

        url = stack.enter_context(moto_server())  # type: ignore[attr-defined]
        return Target(url, region=region, name="moto")
    if args.target == "aws":
        return _aws_target(args, region)
    if args.endpoint_url is None:
        from conformance.reference import embedded_server
        from conformance.reference.apart import serving_apart

        url = stack.enter_context(serving_apart(embedded_server(args.schemas)))  # type: ignore[attr-defined]
        return Target(url, region=region, name="embedded reference server")
    target = _credentials_target(args.endpoint_url, region, args.profile, args.allow_credentials_to_custom_endpoint,
                                 required=not args.dry_run)
    if args.create_jobs and target.is_aws:
        raise TargetError("--create-jobs on an AWS endpoint: use --target aws, which takes the S3 data and role")
    # On AWS a job costs money and needs real S3 data: only `--target aws --create-jobs` starts one.
    return target.with_changes(creates_jobs=not (args.no_create_jobs or target.is_aws))


def _aws_target(args: argparse.Namespace, region: str) -> Target:
    """AWS: each service's endpoint as the SDKs resolve it, botocore's credential chain, jobs only when asked."""
    from conformance.services import JobSetup
    from conformance.target import Target, TargetError

    setup = None
    if args.create_jobs:
        given = {"--input-s3-uri": args.input_s3_uri, "--output-s3-uri": args.output_s3_uri,
                 "--data-access-role-arn": args.data_access_role_arn}
        missing = [flag for flag, value in given.items() if not value]
        if missing:
            raise TargetError(f"--create-jobs on AWS needs {', '.join(missing)}: real jobs read S3 data "
                              "through a role the service assumes")
        try:
            setup = JobSetup(args.input_s3_uri, args.output_s3_uri, args.data_access_role_arn)
        except ValueError as exc:
            raise TargetError(str(exc)) from None
    credentials = _chain_credentials(args.profile, required=not args.dry_run)
    urls = aws_endpoints(region, args.profile)
    first = next(iter(urls.values()))
    return Target(first, region=region, credentials=credentials, name="AWS", creates_jobs=setup is not None,
                  service_urls=tuple(urls.items()), job_setup=setup,
                  credentials_to_custom_endpoint=args.allow_credentials_to_custom_endpoint)


def aws_endpoints(region: str, profile: str | None = None) -> dict[str, str]:
    """Each service's endpoint as the AWS SDKs resolve it: the region's, or AWS_ENDPOINT_URL(_SERVICE) and config."""
    import botocore.exceptions
    import botocore.session

    from conformance.model import load_operations
    from conformance.target import TargetError, hide_userinfo

    session = botocore.session.Session(profile=profile)
    urls: dict[str, str] = {}
    for service in sorted({op.service.name for op in load_operations()}):
        try:
            # Explicit throwaway keys: creating a client must not walk the credential chain again.
            client = session.create_client(service, region_name=region, aws_access_key_id="endpoint-only",
                                           aws_secret_access_key="endpoint-only")
        except botocore.exceptions.ProfileNotFound:
            raise TargetError(f"no AWS profile named {profile!r}") from None
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:
            # botocore's message quotes the URL of AWS_ENDPOINT_URL*, with any password in it
            raise TargetError(f"no {service} endpoint for region {region!r}: {hide_userinfo(str(exc))}") from None
        urls[service] = client.meta.endpoint_url
    return urls


def _chain_credentials(profile: str | None, required: bool = True) -> Credentials | None:
    """Frozen credentials from botocore's chain (environment, profiles, SSO, roles); TargetError when there are none."""
    import botocore.exceptions
    import botocore.session
    from botocore.credentials import Credentials

    from conformance.target import TargetError

    try:
        credentials = botocore.session.Session(profile=profile).get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except botocore.exceptions.ProfileNotFound:
        raise TargetError(f"no AWS profile named {profile!r}") from None
    except botocore.exceptions.BotoCoreError as exc:  # an SSO session expired, a role that cannot be assumed...
        raise TargetError(f"AWS credentials could not be loaded: {exc}") from None
    if frozen is None or not frozen.access_key or not frozen.secret_key:
        if not required:
            return None
        raise TargetError("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, "
                          "or log in with `aws sso login` (botocore's chain: environment, profiles, SSO, roles)")
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def _credentials_target(url: str, region: str, profile: str | None, allow_custom: bool = False,
                        required: bool = True) -> Target:
    """A target for a URL: botocore's credential chain for AWS endpoints (and, if allowed, others); dummy elsewhere."""
    from conformance.target import Target

    target = Target(url, region=region)
    if not (target.is_aws or allow_custom):
        return target
    credentials = _chain_credentials(profile, required)
    return Target(url, region=region, credentials=credentials, name="AWS" if target.is_aws else "endpoint",
                  credentials_to_custom_endpoint=allow_custom)
