"""`conformance run`: the suite against a target, and its reports."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import sys
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.cli import config_file
from conformance.cli.errors import EXIT_OK, error
from conformance.engine import baseline as baselines
from conformance.engine.config import ConfigurationError, MachineConfig, RunConfig, lifecycle_for
from conformance.engine.lanes import lanes_for, select_operations
from conformance.engine.phases.flows import JobsPhase
from conformance.engine.results import RunResult
from conformance.engine.runner import RunInterrupted, planned_requests, run
from conformance.judging.checks import REGISTRY
from conformance.model.operations import SchemaDocumentError
from conformance.report import Summary, har, html, json_report, junit, markdown, plan, recording, summarise, terminal
from conformance.report.rerun import RerunSource, load
from conformance.targets.moto import MotoUnavailable
from conformance.targets.resolve import TargetChoice, open_target
from conformance.targets.target import Target, TargetError
from conformance.wire.redaction import RedactingFilter, secrets_of


def selected_checks(args: argparse.Namespace) -> tuple[str, ...]:
    """The checks --check and --exclude-check select (empty: all); ValueError names an unknown id."""
    unknown = [check for check in args.check + args.exclude_check if check not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)} (known: {', '.join(sorted(REGISTRY))})")
    if not args.exclude_check:
        return tuple(args.check)
    return tuple(check for check in (args.check or REGISTRY) if check not in args.exclude_check)


def run_command(args: argparse.Namespace) -> int:
    """`conformance run`: check the options, resolve the target, run, report; the exit status."""
    if getattr(args, "config_error", None):
        return error(args.config_error)
    config_file.settle_exclusive(args)
    problem = _reports_problem(args) or _baseline_problem(args)
    if problem:  # found before anything is sent, not after the verdict, whose exit status it would replace
        return error(problem)
    try:
        baseline = _baseline(args)
    except baselines.BaselineError as exc:
        return error(str(exc))
    try:
        checks = selected_checks(args)
        if args.case and not args.rerun:
            raise ValueError("--case ID names a failed case of an earlier report: give it with --rerun REPORT")
        source = load(args.rerun, args.case) if args.rerun else None
        rerun, rerun_flows = (source.cases, source.flows) if source is not None else (None, True)
        recorded = _recording(args)
    except ValueError as exc:  # an unknown check, a file that is not a report (RerunError) or a recording
        return error(str(exc))
    if recorded is not None:  # the recording's cases, and its job flows, in place of a plan of this run's own
        rerun, rerun_flows = recorded.rerun(), recorded.has_flows()
        args.seed = recorded.seed  # the state machine and drawn near misses still run: the oracle judges them
    seed, region = seed_and_region(args)
    with contextlib.ExitStack() as stack:
        try:
            target = open_target(_choice(args, region), stack)
        except TARGET_ERRORS as exc:
            return error(str(exc))
        config = run_config(args, target, seed, create_jobs=not args.no_create_jobs and rerun_flows, checks=checks,
                            fail_fast=args.fail_fast, max_failures=args.max_failures, max_time=args.max_time,
                            rerun=rerun)
        if args.dry_run:
            return _dry_run(config)
        result = _run(config, args.verbose, region, getattr(args, "config_file", None))
        if isinstance(result, int):
            return result
    if recorded is not None:
        compared = recording.judge(result, recorded, args.volatile, args.recording_strict,
                                   None if not args.check and not args.exclude_check else checks)
        print(compared.note(), file=sys.stderr)
    return _report(result, args, baseline, source)


# What opening a target may refuse with, in words a user can act on.
TARGET_ERRORS = (TargetError, SchemaDocumentError, MotoUnavailable)


def seed_and_region(args: argparse.Namespace) -> tuple[int, str]:
    """The run's seed (--seed, else a random one) and region (--region, else $AWS_DEFAULT_REGION, else us-east-1)."""
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    return seed, args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def run_config(args: argparse.Namespace, target: Target, seed: int, **more: Any) -> RunConfig:
    """The run the options describe, against `target` (`more`: what a command sets otherwise); one place, so that
    `run` and `record` read the options alike (the settle wait's default by target among them)."""
    options: dict[str, Any] = dict(
        target=target, operations=tuple(args.operation), all_operations=args.all_operations, schema_dir=args.schemas,
        max_examples=args.max_examples, seed=seed, workers=args.workers, rate=args.rate,
        create_jobs=not args.no_create_jobs, protocol=args.protocol, budget=args.budget,
        read_timeout=args.read_timeout, lifecycle=lifecycle_for(target, args.settle_timeout),
        near_misses=args.near_misses, shrink_requests=args.shrink_requests,
        machine=MachineConfig(steps=args.state_machine_steps))
    return RunConfig(**{**options, **more})


def _baseline(args: argparse.Namespace) -> baselines.Baseline | None:
    """The --baseline file as read (an empty one where --baseline-update will create it), or None."""
    path = getattr(args, "baseline", None)
    if path is None:
        return None
    return baselines.load(path, strict=args.baseline_strict, missing_ok=args.baseline_update)


def _baseline_problem(args: argparse.Namespace) -> str | None:
    """Why the baseline options cannot work together (one sentence), or None."""
    path = getattr(args, "baseline", None)
    given = [flag for flag, on in (("--baseline-update", getattr(args, "baseline_update", False)),
                                   ("--baseline-prune", getattr(args, "baseline_prune", False)),
                                   ("--baseline-strict", getattr(args, "baseline_strict", False))) if on]
    if path is None:
        return f"{' and '.join(given)} need(s) --baseline FILE" if given else None
    writes = [flag for flag in given if flag != "--baseline-strict"]
    if args.dry_run and writes:
        return f"--dry-run judges nothing, so it has no failures for {' or '.join(writes)}"
    if writes:
        problem = _unwritable(path)
        if problem:
            return f"cannot write --baseline {path}: {problem}"
    return None


def _update_baseline(baseline: baselines.Baseline, summary: Summary, args: argparse.Namespace) -> None:
    """With --baseline-update and --baseline-prune: the file with this run's new causes added, its fixed entries
    dropped; one line on stderr says what changed."""
    judgement = summary.decision.baseline
    if judgement is None or not (args.baseline_update or args.baseline_prune):
        return
    entries = baseline.entries
    if args.baseline_update:
        entries = baselines.merged(entries, judgement.new)
    if args.baseline_prune:
        entries = baselines.pruned(entries, judgement.fixed)
    baselines.write(baseline.path, entries, __version__)
    added, removed = len(entries - baseline.entries), len(baseline.entries - entries)
    print(f"conformance: baseline {baseline.path}: {len(entries)} entr(ies); {added} added, {removed} removed",
          file=sys.stderr)


def _recording(args: argparse.Namespace) -> recording.Recording | None:
    """The recording given with --recording, read (RecordingError: it is not one), or None."""
    if getattr(args, "recording", None) is None:
        if getattr(args, "volatile", None) or getattr(args, "recording_strict", False):
            raise ValueError("--volatile and --recording-strict need --recording FILE")
        return None
    if args.rerun:
        raise ValueError("--recording and --rerun both name the cases to send: give one")
    for pointer in args.volatile:
        if pointer and not pointer.startswith("/"):
            raise ValueError(f"--volatile {pointer!r}: not a JSON pointer (it starts with '/')")
    return recording.load(args.recording)


def _choice(args: argparse.Namespace, region: str) -> TargetChoice:
    """The target options of the command line."""
    return TargetChoice(endpoint_url=args.endpoint_url, target=args.target, region=region, profile=args.profile,
                        allow_credentials_to_custom_endpoint=args.allow_credentials_to_custom_endpoint,
                        schema_dir=args.schemas, create_jobs=args.create_jobs, no_create_jobs=args.no_create_jobs,
                        input_s3_uri=args.input_s3_uri, output_s3_uri=args.output_s3_uri,
                        data_access_role_arn=args.data_access_role_arn, credentials_required=not args.dry_run)


def _run(config: RunConfig, verbose: bool, region: str, config_path: Path | None = None) -> RunResult | int:
    """The run's result (an interrupted one too), or the exit status of a configuration that cannot work."""
    target = config.target
    _log_exchanges(verbose, target)
    try:
        width = terminal.terminal_width(sys.stderr)  # these lines too fit the terminal (a pipe gets them whole)
        wrap = sys.stderr.isatty() or "COLUMNS" in os.environ
        opening = ([_cost_statement(config)] if target.job_setup is not None else []) + (
            [f"config: {config_path}"] if config_path is not None else []) + [  # which file set what flags did not
            f"conformance run against {', '.join(target.urls())} ({target.name}, {region}; seed {config.seed}; "
            f"--seed {config.seed} repeats this run)"]
        for line in opening:
            print("\n".join(terminal.fitted(line, width)) if wrap else line, file=sys.stderr)
        return run(config, progress=terminal.ProgressPrinter(), on_interrupt=_say_interrupted)
    except (ConfigurationError, SchemaDocumentError) as exc:
        return error(str(exc))
    except RunInterrupted as interrupted:  # report what was judged, marked interrupted (exit 130)
        print("conformance: interrupted; reporting what was judged so far", file=sys.stderr)
        return interrupted.result


def _say_interrupted() -> None:
    """At the Ctrl-C itself (in the signal handler), one line: stopping jobs and reporting take seconds more."""
    line = "\nconformance: interrupted; stopping the jobs it started, then reporting\n"
    try:  # os.write: a print here could meet the progress line's own write in progress (a reentrant call)
        os.write(sys.stderr.fileno(), line.encode())
    except (OSError, ValueError, AttributeError):  # a stderr without a descriptor (captured, in tests)
        print(line, end="", file=sys.stderr)


def _report(result: RunResult, args: argparse.Namespace, baseline: baselines.Baseline | None = None,
            source: RerunSource | None = None) -> int:
    """Print the terminal report, write the reports asked for (and the baseline, when asked to update it); the exit
    status of the verdict. With --rerun, every report compares the run with the report it reran."""
    summary = summarise(result, baseline)
    if source is not None:
        summary.rerun = source.compare(summary.failures)
    terminal.write(summary, verbose=args.verbose)
    try:
        if args.report_json:
            json_report.write(summary, args.report_json)
        if args.junitxml:
            junit.write(summary, args.junitxml)
        if args.report_markdown:
            markdown.write(summary, args.report_markdown)
        if getattr(args, "report_html", None):
            html.write(summary, args.report_html)
        if getattr(args, "report_har", None):
            har.write(summary, args.report_har)
        if baseline is not None:
            _update_baseline(baseline, summary, args)
    except OSError as exc:
        return error(f"cannot write the report: {exc.strerror or exc}")
    return summary.decision.exit_status(args.accept_incomplete)


def _reports_problem(args: argparse.Namespace) -> str | None:
    """Why the run cannot write its reports where asked (one sentence), or None."""
    reports = {flag: path for flag, path in (("--report-json", args.report_json), ("--junitxml", args.junitxml),
                                             ("--report-markdown", args.report_markdown),
                                             ("--report-html", getattr(args, "report_html", None)),
                                             ("--report-har", getattr(args, "report_har", None)))
               if path is not None}
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
    try:
        requests = planned_requests(config)
    except ConfigurationError as exc:
        return error(str(exc))
    plan.write(requests, config.target)
    return EXIT_OK


def _log_exchanges(verbose: bool, target: Target) -> None:
    """With --verbose, every request and answer on stderr; secrets are redacted from every record."""
    if not verbose:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    # On the handler: it sees botocore's records too.
    handler.addFilter(RedactingFilter(secrets_of(target.credentials)))
    logging.getLogger().addHandler(handler)
    logging.getLogger("conformance").setLevel(logging.DEBUG)


def _cost_statement(config: RunConfig) -> str:
    """What starting real jobs costs, said before any is started."""
    lanes = JobsPhase().flows_for(config, lanes_for(config, select_operations(config)))
    starts = sorted({api.start for _, api in lanes})
    machine = config.machine
    # Each of the state machine's Starts is one of its steps, and so is each of its shrinking's.
    more = (f", and the state machine up to {machine.steps} more (at most one per state-machine step) and, should "
            f"one of its runs fail, up to {machine.shrink_requests} more to shrink it" if machine.steps and lanes
            else "")
    return (f"--create-jobs: this run starts up to {len(lanes)} real job(s) ({', '.join(starts)}; one per operation "
            f"and protocol the endpoint serves){more}, and stops each at once. AWS bills each job as an "
            "asynchronous job, for the text it reads before it stops: keep --input-s3-uri to one short document. "
            "Pricing: https://aws.amazon.com/comprehend/pricing/ and https://aws.amazon.com/comprehend/medical/pricing/")


