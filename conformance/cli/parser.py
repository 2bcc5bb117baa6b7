"""The command line's parser: the `run`, `serve` and `schemas` commands and their options, group by group."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance import __version__
from conformance.cli import arguments, config_file
from conformance.engine.config import DEFAULT_MACHINE_STEPS
from conformance.protocols import SUPPORTED

DESCRIPTION = "The `conformance` command: `run` the suite, `serve` the reference server, derive `schemas`."
RUN_EPILOG = """config files:
  Every option can also be set in ./conformance.toml (top-level keys), or else in [tool.conformance] of
  ./pyproject.toml: keys are the option names without `--` (max-examples = 50; repeatable options take a list,
  flags true/false). An option on the command line overrides the file's; --endpoint-url and --target exclude
  each other, so one given on the command line replaces the other set in the file, while both in the file are
  an error (exit 2). The run's header names the file read ("config: PATH")."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="conformance", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the suite against an endpoint (default: the embedded reference server)",
                              epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    for add in (_target_options, _selection_options, _outcome_options, _job_options, _judging_options, _report_options,
                _baseline_options):
        add(run)
    config_file.apply_defaults(run)
    _recording_options(run)
    _add_record(commands)
    _add_diff(commands)
    _add_schemas(commands)
    _add_serve(commands)
    return parser


def _recording_options(run: argparse.ArgumentParser) -> None:
    """Judging a target against a recording of another (`conformance record`)."""
    recording = run.add_argument_group("recording", "Send a recording's cases and compare each answer with the "
                                                     "recorded one (the checks `recording`, `recording_choice`).")
    recording.add_argument("--recording", type=Path, default=None, metavar="FILE",
                           help="send the cases of this recording (`conformance record --out FILE`) and compare "
                                "every answer with the recorded one, besides the oracle")
    recording.add_argument("--volatile", action="append", default=[], metavar="JSONPOINTER",
                           help="with --recording: a value (JSON pointer into an answer's body, e.g. "
                                "/JobProperties/JobName) not compared (repeatable)")
    recording.add_argument("--recording-strict", action="store_true",
                           help="with --recording: another choice of what the oracle allows fails too (without it, "
                                "a warning: the recording chose X, this target Y)")


def _add_record(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    record = commands.add_parser("record", help="record a target's answers to the deterministic part of a run")
    for add in (_target_options, _selection_options, _outcome_options, _job_options):
        add(record)
    # The deterministic part: no state machine, no shrinking, no drawn near misses (they depend on the job's id).
    record.set_defaults(state_machine_steps=0, shrink_requests=0, near_misses=0)
    record.add_argument("--out", type=Path, required=True, metavar="FILE", help="write the recording here")


def _add_diff(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    diff = commands.add_parser("diff", help="send the same cases to two targets and report every difference")
    _target_options(diff)
    against = diff.add_mutually_exclusive_group(required=True)
    against.add_argument("--against-endpoint-url", default=None, metavar="URL", help="the other endpoint")
    against.add_argument("--against-target", choices=["reference", "moto"], default=None,
                         help="the other target, started on loopback")
    diff.add_argument("--operation", action=arguments.ReplaceDefault, default=[], metavar="NAME",
                      help="compare only this operation (repeatable; default: the mission's two)")
    diff.add_argument("--all-operations", action="store_true", help="every operation with a schema document")
    diff.add_argument("--schemas", type=Path, default=None, metavar="DIR", help="a folder of schema documents")
    diff.add_argument("--protocol", choices=[*SUPPORTED, "all"], default="all", help="wire protocol(s) to compare")
    diff.add_argument("--max-examples", type=arguments.examples, default=20,
                      help="generated cases per operation, after the catalog's (default: 20)")
    diff.add_argument("--seed", type=arguments.seed, default=None, help="the same seed sends the same cases")
    diff.add_argument("--read-timeout", type=arguments.timeout, default=30.0, metavar="SECONDS",
                      help="an answer that takes longer counts as none")
    diff.add_argument("--report-markdown", type=Path, default=None, metavar="PATH",
                      help="write the differences, grouped by cause, as Markdown here")


def _target_options(run: argparse.ArgumentParser) -> None:
    """Which endpoint, and with which credentials."""
    where = run.add_mutually_exclusive_group()
    where.add_argument("--endpoint-url",
                       help="the endpoint serving both operations (default: start the reference server)")
    where.add_argument("--target", choices=["reference", "moto", "aws"], default=None,
                       help="reference (default) or moto: start it on loopback and test it; aws: the region's AWS "
                            "endpoints (or $AWS_ENDPOINT_URL, $AWS_ENDPOINT_URL_COMPREHEND, "
                            "$AWS_ENDPOINT_URL_COMPREHENDMEDICAL), with credentials from botocore's chain")
    run.add_argument("--region", default=None, help="region to sign for (default: $AWS_DEFAULT_REGION or us-east-1)")
    run.add_argument("--profile", default=None, help="AWS profile for an AWS endpoint's credentials")
    run.add_argument("--allow-credentials-to-custom-endpoint", action="store_true",
                     help="sign with your AWS credentials for an endpoint outside amazonaws.com (never done otherwise)")


def _selection_options(run: argparse.ArgumentParser) -> None:
    """Which operations and protocols, how many cases, how fast."""
    run.add_argument("--operation", action=arguments.ReplaceDefault, default=[], metavar="NAME",
                     help="test only this operation (repeatable; default: the mission's two, "
                          "StopPiiEntitiesDetectionJob and StopPHIDetectionJob)")
    run.add_argument("--all-operations", action="store_true",
                     help="test every operation with a schema document (the whole family of Stop-job operations)")
    run.add_argument("--schemas", type=Path, default=None, metavar="DIR",
                     help="a folder of schema documents (from `conformance schemas`): test every operation they "
                          "describe; the embedded reference server serves them too (default: the bundled ones)")
    run.add_argument("--protocol", choices=[*SUPPORTED, "all"], default="all",
                     help="wire protocol(s) to test; 'all' (default) is every one the operation's model lists: the "
                          "one AWS SDKs send (awsJson1_1) must be served, another may be left out; a protocol "
                          "named here must be served")
    run.add_argument("--max-examples", type=arguments.examples, default=100,
                     help=f"generated cases per operation (default: 100; at most {arguments.MAX_EXAMPLES:,})")
    run.add_argument("--seed", type=arguments.seed, default=None,
                     help="the same seed repeats a run exactly (default: random)")
    run.add_argument("--workers", type=arguments.workers, default=4,
                     help=f"requests in flight at once (default: 4; at most {arguments.MAX_WORKERS})")
    run.add_argument("--rate", type=arguments.rate, default=None,
                     help=f"at most this many requests per second, {arguments.MIN_RATE:g} or more (lowered further "
                          "while the target throttles)")
    run.add_argument("--budget", type=arguments.budget, default=None, metavar="N",
                     help="send at most N requests; the first ~80 per operation and protocol cover every case category")


def _outcome_options(run: argparse.ArgumentParser) -> None:
    """How long to wait for answers, what an incomplete run means, what to show."""
    run.add_argument("--accept-incomplete", action="store_true",
                     help="exit 0 for an incomplete run (nothing failed, but a budget or throttling left promised "
                          "case categories unjudged); without it such a run exits 4")
    run.add_argument("--read-timeout", type=arguments.timeout, default=30.0, metavar="SECONDS",
                     help="an answer that takes longer is a failure of its case (after one retry; default: 30)")
    run.add_argument("--dry-run", action="store_true",
                     help="print every request the run would send, redacted; send none (no report: --report-json "
                          "and --junitxml are refused with it)")
    run.add_argument("--verbose", action="store_true", help="log every request and answer to stderr (redacted)")


def _job_options(run: argparse.ArgumentParser) -> None:
    """Starting real jobs for Stop's success path."""
    jobs = run.add_argument_group("jobs", "Stop's success path needs a running job. The reference server and moto "
                                          "start jobs for free; on AWS a job costs money and needs S3 data and a role, "
                                          "so the suite starts one only with --create-jobs.")
    creating = jobs.add_mutually_exclusive_group()
    creating.add_argument("--create-jobs", action="store_true",
                          help="on AWS: start (and at once stop) one job per operation and protocol served")
    creating.add_argument("--no-create-jobs", action="store_true", help="never start jobs (so no success-path cases)")
    jobs.add_argument("--input-s3-uri", default=None, metavar="S3_URI",
                      help="with --create-jobs on AWS: documents to read (keep it to one short document)")
    jobs.add_argument("--output-s3-uri", default=None, metavar="S3_URI",
                      help="with --create-jobs on AWS: where to write")
    jobs.add_argument("--data-access-role-arn", default=None, metavar="ARN",
                      help="with --create-jobs on AWS: a role both services may assume to read and write those")
    run.add_argument("--near-misses", type=arguments.whole(0, arguments.MAX_NEAR_MISSES), default=16, metavar="N",
                     help="near misses of a started job's id drawn per job flow, beside the 7 fixed ones: strings "
                          "that are not its id, each of which must name no job (default: 16; 0: the fixed ones only)")
    run.add_argument("--shrink-requests", type=arguments.whole(0, arguments.MAX_SHRINK_REQUESTS), default=100,
                     metavar="N", help="requests a failing generated case may spend being shrunk against the target "
                                       "to its smallest failing form, for the first failure of each lane and check "
                                       "(default: 100; 0: none is shrunk)")
    run.add_argument("--state-machine-steps", type=arguments.whole(0, arguments.MAX_MACHINE_STEPS),
                     default=DEFAULT_MACHINE_STEPS, metavar="N",
                     help="requests the state machine sends at most, where jobs may be started: runs of Start, "
                          "Describe and Stop over every job kind, each answer judged against a model of the job "
                          "lifecycle; a failing run is shrunk to its shortest failing run (default: "
                          f"{DEFAULT_MACHINE_STEPS}; 0: off)")
    run.add_argument("--settle-timeout", type=arguments.seconds, default=None, metavar="SECONDS",
                     help="how long a stopped job may stay STOP_REQUESTED (default: 60, or 5 against a local "
                          "target on loopback such as --target moto; 0: do not wait; at most "
                          f"{arguments.MAX_SECONDS:g})")


def _judging_options(run: argparse.ArgumentParser) -> None:
    """Which checks judge, when to stop, which cases to send again."""
    run.add_argument("--check", action=arguments.ReplaceDefault, default=[], metavar="ID",
                     help="judge only this check (repeatable; default: all)")
    run.add_argument("--exclude-check", action=arguments.ReplaceDefault, default=[], metavar="ID",
                     help="do not judge this check (repeatable)")
    run.add_argument("--fail-fast", action="store_true",
                     help="send no further case after the first failure of an error-severity check (started jobs "
                          "are still stopped); the same as --max-failures 1")
    # Schemathesis 4's names and meanings: --max-failures N ends the run after N failures, --max-time after N seconds.
    run.add_argument("--max-failures", type=arguments.failures, default=None, metavar="N",
                     help="stop sending once N cases have failed an error-severity check (what is in flight is "
                          "still judged, started jobs are still stopped; the report says the run was stopped; at "
                          f"most {arguments.MAX_FAILURES:,})")
    run.add_argument("--max-time", type=arguments.run_time, default=None, metavar="SECONDS",
                     help="stop sending once the run has lasted SECONDS (started jobs are still stopped; a run "
                          "stopped with no failure is incomplete, exit 4; at most "
                          f"{arguments.MAX_SECONDS:g})")
    run.add_argument("--rerun", type=Path, default=None, metavar="REPORT",
                     help="send only the failed cases of an earlier --report-json report, over the lanes they name")
    run.add_argument("--case", action="append", default=[], metavar="ID",
                     help="with --rerun: send only the failed case of this ID (repeatable; the [ID] beside each "
                          "failure in the reports, `case_id` in the JSON report)")


def _report_options(run: argparse.ArgumentParser) -> None:
    """Where to write reports."""
    run.add_argument("--report-json", type=Path, default=None, metavar="PATH", help="write the JSON report here")
    run.add_argument("--junitxml", type=Path, default=None, metavar="PATH", help="write a JUnit XML report here")
    run.add_argument("--report-markdown", type=Path, default=None, metavar="PATH",
                     help="write a Markdown summary here (fit for $GITHUB_STEP_SUMMARY)")
    run.add_argument("--report-html", type=Path, default=None, metavar="PATH",
                     help="write a self-contained HTML report here (matrix in colour, failures by cause, filters; "
                          "no network access)")
    # --report-har-path is Schemathesis 4's name for the same file (its `--report har --report-har-path PATH`).
    run.add_argument("--report-har", "--report-har-path", dest="report_har", type=Path, default=None,
                     metavar="PATH", help="write every exchange of the run as a HAR 1.2 file here, secrets redacted")


def _baseline_options(run: argparse.ArgumentParser) -> None:
    """Accepted failures: a baseline file, and keeping it up to date (Schemathesis 4's names)."""
    group = run.add_argument_group("baseline", "A baseline lists the causes of failure a target is known to have "
                                               "(operation, protocol, check, case category, kind of answer): they "
                                               "are reported as accepted and do not fail the run; a new one does.")
    group.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                       help="accept the failures this baseline file lists (JSON, docs/baseline.schema.json)")
    group.add_argument("--baseline-update", action="store_true",
                       help="with --baseline: add this run's failures to the file (created if missing); the verdict "
                            "is still against the file as it was")
    group.add_argument("--baseline-prune", action="store_true",
                       help="with --baseline: drop the entries this run tested and did not reproduce (fixed)")
    group.add_argument("--baseline-strict", action="store_true",
                       help="with --baseline: an entry this run tested and did not reproduce fails the run (exit 1)")


def _add_schemas(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    schemas = commands.add_parser("schemas", help="derive JSON Schemas from API reference pages")
    schemas.add_argument("--docs", type=Path, default=Path("api-reference-pages"),
                         help="a reference page (.md) or a folder of them (default: api-reference-pages)")
    schemas.add_argument("--out", type=Path, default=Path("schemas"), help="output folder (default: schemas)")
    schemas.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if --out differs from what the pages yield")


def _add_serve(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = commands.add_parser("serve", help="run the reference server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=arguments.port, default=8000, help="port (default: 8000; 0 picks a free one)")
    serve.add_argument("--region", default="us-east-1", help="region for job ARNs of unsigned requests")
    serve.add_argument("--schemas", type=Path, default=None, help="folder of schema documents (default: bundled)")
    serve.add_argument("--job-queued-seconds", type=arguments.seconds, default=1.0, help="SUBMITTED lasts this long")
    serve.add_argument("--job-running-seconds", type=arguments.seconds, default=600.0,
                       help="IN_PROGRESS lasts this long")
    serve.add_argument("--job-stopping-seconds", type=arguments.seconds, default=2.0,
                       help="STOP_REQUESTED lasts this long")
    serve.add_argument("--max-body-bytes", type=arguments.body_bytes, default=1 << 20, help="larger bodies get 413")
    serve.add_argument("--max-connections", type=arguments.whole(1, 1_000_000), default=None, metavar="N",
                       help="open connections at most; beyond it the one idle longest is closed (default: 1000, "
                            "lowered to fit the file-descriptor limit)")
    serve.add_argument("--verbose", action="store_true",
                       help="log every request to stderr (as --log-requests), and each connection a client drops")
    serve.add_argument("--log-requests", action="store_true",
                       help="one line per request on stderr: method, path, protocol, operation, status, duration")
    serve.add_argument("--shutdown-grace", type=arguments.seconds, default=10.0, metavar="SECONDS",
                       help="on SIGTERM, stop accepting and give answers in flight this long (default: 10)")
    serve.add_argument("--variant", default=None, metavar="NAME",
                       help="serve a faulty or legally different variant (see --list-variants)")
    serve.add_argument("--list-variants", action="store_true", help="list the variants and exit")
    serve.add_argument("--enforce-sigv4", action="store_true",
                       help="serve only requests SigV4-signed with the built-in test keys, as AWS answers the rest")
    # A key pair is read from where botocore reads it, never from the command line, where `ps` would show it.
    given = serve.add_mutually_exclusive_group()
    given.add_argument("--sigv4-credentials-from-environment", action="store_true",
                       help="with --enforce-sigv4: accept only the key pair of $AWS_ACCESS_KEY_ID, "
                            "$AWS_SECRET_ACCESS_KEY (and $AWS_SESSION_TOKEN), in place of the test keys")
    given.add_argument("--sigv4-profile", default=None, metavar="NAME",
                       help="with --enforce-sigv4: accept only the key pair of this AWS profile (botocore's chain: "
                            "shared files, SSO, roles), in place of the test keys")
    serve.add_argument("--throttle", type=arguments.rate, default=None, metavar="RATE",
                       help="answer ThrottlingException to requests over RATE per second")
