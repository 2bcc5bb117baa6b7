"""The pytest plugin (entry point `pytest11`): options and fixtures for `pytest --pyargs conformance.suite`.

Every option is named `--conformance-…`, with an ini key `conformance_…` (the command line wins over the ini file,
and both over the config file `conformance run` reads, `conformance.toml` or `[tool.conformance]`): the plugin
is loaded into every pytest session of the environment, so plain names (`--region`, `--profile`) would clash
with a project's conftest.py or with other plugins (pytest-profiling's `--profile`).

Fixtures are session-scoped and small, so a project can override any one of them in its own
conftest.py (for example `conformance_target`, to point at a server it starts itself).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.engine.config import LifecycleConfig, lifecycle_for
from conformance.engine.transport import Transport
from conformance.protocols import SUPPORTED, ProtocolName
from conformance.targets.target import Target

if TYPE_CHECKING:
    from conformance.engine.baseline import Baseline, Entry
    from conformance.engine.results import CaseResult
    from conformance.judging.check_results import Failed
    from conformance.model.operations import Operation

PREFIX = "conformance"
PROTOCOLS = (*SUPPORTED, "all")
TARGETS = ("reference", "moto")  # the CLI also has aws (`targets.resolve.TARGETS`)
DEFAULT_MAX_EXAMPLES = 100  # as the CLI's --max-examples: generated cases per operation and protocol


def _choice(*allowed: str) -> Callable[[str], str]:
    """An argparse type (also applied to ini values): one of `allowed`."""

    def parse(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(allowed)}")
        return text

    return parse


def _parsers() -> dict[str, Callable[[str], Any]]:
    """The value parsers of the options that take one, shared with the CLI so both accept the same values."""
    from conformance.cli import arguments

    return {"endpoint-url": str, "target": _choice(*TARGETS), "region": str, "profile": str,
            "protocol": _choice(*PROTOCOLS), "rate": arguments.rate, "settle-timeout": arguments.seconds,
            "max-examples": arguments.whole(1, arguments.MAX_EXAMPLES), "schemas": Path, "baseline": Path,
            "seed": arguments.seed}


_HELP = {
    "endpoint-url": "endpoint serving both operations (default: start the embedded reference server)",
    "target": "reference (default) or moto (the `moto` extra): start it on loopback and test it",
    "region": "region to sign for (default: $AWS_DEFAULT_REGION or us-east-1)",
    "profile": "AWS profile for an AWS endpoint's credentials",
    "protocol": "wire protocol(s) to test: awsJson1_1, rpcv2Cbor or all (default: every one the model lists; "
                "unserved ones are skipped)",
    "rate": "at most this many requests per second, shared by the whole run: under pytest-xdist each worker "
            "sends at most RATE / $PYTEST_XDIST_WORKER_COUNT",
    "settle-timeout": "how long a stopped job may stay STOP_REQUESTED (default: 5 on loopback, 60 elsewhere; 0: do not wait)",
    "max-examples": f"generated cases per operation and protocol, spread over its case families (default: "
                    f"{DEFAULT_MAX_EXAMPLES}, as the CLI); ignored when a Hypothesis profile is chosen "
                    "(--hypothesis-profile), whose max_examples then applies to each family",
    "schemas": "a folder of schema documents: test every operation they describe (the embedded reference server "
               "serves them too; default: the bundled documents)",
    "baseline": "a baseline file (as `conformance run --baseline` reads it): a failure whose cause it lists is an "
                "xfail; a test that judged an entry's check and category without failing so is an xpass (fixed)",
    "seed": "seed Hypothesis with N, so that the same N draws the same cases (as --hypothesis-seed, which wins)",
}
# Repeatable options: a list on the command line (the option again), in the ini file (space-separated) and in the
# config file (a TOML list).
_REPEATABLE = {
    "check": "judge only this check (repeatable; default: all)",
    "exclude-check": "do not judge this check (repeatable)",
}
_FLAGS = {"no-create-jobs": "never start jobs (no success-path tests)",
          "all-operations": "test every operation with a schema document, not only the mission's two",
          "baseline-strict": "with --conformance-baseline: a fixed entry (an xpass) fails the test"}


def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's options and ini keys; they do nothing unless `conformance.suite` is collected."""
    group = parser.getgroup(PREFIX, "AWS Comprehend conformance suite")
    parsers = _parsers()
    for name, text in _HELP.items():
        group.addoption(f"--{PREFIX}-{name}", default=None, metavar=name.split("-")[-1].upper(),
                        type=parsers[name], help=f"{text} [ini: {_ini_key(name)}]")
        parser.addini(_ini_key(name), help=text, default=None)
    for name, text in _REPEATABLE.items():
        group.addoption(f"--{PREFIX}-{name}", action="append", default=None, metavar="ID",
                        help=f"{text} [ini: {_ini_key(name)}]")
        parser.addini(_ini_key(name), help=text, type="args", default=[])
    for flag, text in _FLAGS.items():
        group.addoption(f"--{PREFIX}-{flag}", action="store_true", default=None, help=f"{text} [ini: {_ini_key(flag)}]")
        parser.addini(_ini_key(flag), help=text, type="bool", default=False)


_SESSION: list[pytest.Config] = []  # the session's config, for the suite module's collection-time selection


def pytest_configure(config: pytest.Config) -> None:
    """Keep the config: the suite parametrizes its tests when its module is imported, before any fixture runs.
    A bad --conformance-schemas is a usage error here, not a collection error with a traceback."""
    _SESSION[:] = [config]
    if config.getoption(_ini_key("schemas"), None) is not None or config.getini(_ini_key("schemas")):
        selected_operations()
    if any("conformance.suite" in arg or "conformance/suite" in arg for arg in config.invocation_params.args):
        options(config)  # the suite is asked for: a bad option or config file is a usage error now, in one line
    seed = _seed(config)
    if seed is not None and config.getoption("hypothesis_seed", None) is None:
        from hypothesis import core

        core.global_force_seed = seed  # what --hypothesis-seed sets (its own option, when given, wins)
    if config.getoption(_ini_key("baseline"), None) is not None or config.getini(_ini_key("baseline")):
        _session_baseline(config)


def selected_operations() -> tuple[list[Operation], list[Operation]]:
    """(the operations the session tests, every operation of its schema folder); a bad option is a UsageError."""
    from conformance.engine.config import ConfigurationError
    from conformance.engine.lanes import choose_operations
    from conformance.model.operations import load_operations

    chosen = options(_SESSION[0]) if _SESSION else None
    schema_dir = chosen.schema_dir if chosen else None
    try:
        return (choose_operations(schema_dir, all_operations=chosen.all_operations if chosen else False),
                load_operations(schema_dir))
    except (ConfigurationError, ValueError) as exc:
        raise pytest.UsageError(f"--{PREFIX}-schemas: {exc}") from None


def _seed(config: pytest.Config) -> int | None:
    """--conformance-seed as resolved, or None; read only when some source names it (a cheap look for every session
    the plugin is loaded into)."""
    try:  # a session that never runs the suite is not failed for a config file it does not use
        in_file = "seed" in _file_options(config)[1]
    except pytest.UsageError:
        in_file = False
    named = config.getoption(_ini_key("seed"), None) is not None or config.getini(_ini_key("seed")) or in_file
    return options(config).seed if named else None


def _file_options(config: pytest.Config) -> tuple[Path | None, dict[str, Any]]:
    """The config file `conformance run` reads (`cli.config_file`) from the folder pytest was started in: its path
    and its options by the plugin's names (keys the plugin has not, such as `report-json`, left to the CLI)."""
    from conformance.cli import config_file

    cached = config.stash.get(_FILE_KEY, None)
    if cached is not None:
        return cached
    try:
        found = config_file.find(config.invocation_params.dir)
    except config_file.ConfigFileError as exc:
        raise pytest.UsageError(str(exc)) from None
    known = {*_HELP, *_REPEATABLE, *_FLAGS}
    chosen: tuple[Path | None, dict[str, Any]] = (None, {})
    if found is not None:
        chosen = (found[0], {key.replace("_", "-"): value for key, value in found[1].items()
                             if key.replace("_", "-") in known})
        if "endpoint-url" in chosen[1] and "target" in chosen[1]:
            raise pytest.UsageError(f"{found[0]}: endpoint-url and target exclude each other: set one")
    config.stash[_FILE_KEY] = chosen
    return chosen


_FILE_KEY = pytest.StashKey[tuple[Path | None, dict[str, Any]]]()
_CHECKS_KEY = pytest.StashKey["frozenset[str] | None"]()


def _from_file(config: pytest.Config, name: str, parse: Callable[[str], Any]) -> Any:
    """Option NAME as the config file sets it (parsed as on the command line), or None."""
    path, found = _file_options(config)
    if name not in found:
        return None
    value = found[name]
    try:
        if name in _FLAGS:
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
            return value
        if name in _REPEATABLE:
            return [str(item) for item in (value if isinstance(value, list) else [value])]
        if isinstance(value, (bool, dict, list)):
            raise ValueError("must be a string or a number")
        return parse(str(value))
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise pytest.UsageError(f"{path}: {name} = {value!r}: {exc}") from None


def _ini_key(name: str) -> str:
    """The ini key of option `--conformance-NAME` (also its argparse dest)."""
    return f"{PREFIX}_{name.replace('-', '_')}"


@dataclass(frozen=True)
class Options:
    """The plugin's options as the session resolved them: the command line, else the ini file, else defaults."""

    endpoint_url: str | None
    target: str | None
    region: str
    profile: str | None
    protocol: str
    rate: float | None  # this process's share of --conformance-rate
    settle_timeout: float | None  # None: the target's default (engine.config.lifecycle_for)
    max_examples: int
    no_create_jobs: bool
    schema_dir: Path | None = None
    all_operations: bool = False
    baseline: Path | None = None
    baseline_strict: bool = False
    checks: frozenset[str] | None = None  # the checks that judge (--conformance-check, -exclude-check); None: all
    seed: int | None = None
    config_file: Path | None = None  # the config file read, if any


def _value(config: pytest.Config, name: str, parse: Callable[[str], Any]) -> Any:
    """Option `--conformance-NAME` from the command line, else from its ini key (parsed alike), else None."""
    value = config.getoption(_ini_key(name))
    text = config.getini(_ini_key(name)) if value is None else None
    if not text:
        return value
    try:
        return parse(text.strip())
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise pytest.UsageError(f"ini {_ini_key(name)}: {exc}") from None


def _checks(config: pytest.Config) -> frozenset[str] | None:
    """The checks --conformance-check and --conformance-exclude-check select (None: all), as `conformance run`'s."""
    from conformance.judging.checks import REGISTRY

    chosen = {name: config.getoption(_ini_key(name)) or config.getini(_ini_key(name))
              or _from_file(config, name, str) or [] for name in _REPEATABLE}
    unknown = [check for check in chosen["check"] + chosen["exclude-check"] if check not in REGISTRY]
    if unknown:
        raise pytest.UsageError(f"--{PREFIX}-check: unknown check(s) {', '.join(unknown)} "
                                f"(known: {', '.join(sorted(REGISTRY))})")
    if not chosen["check"] and not chosen["exclude-check"]:
        return None
    return frozenset(check for check in (chosen["check"] or REGISTRY) if check not in chosen["exclude-check"])


def options(config: pytest.Config) -> Options:
    """The session's resolved options: the command line, else the ini file, else the config file, else defaults; a
    bad value or a contradiction is a pytest.UsageError."""
    given = {name: _value(config, name, parse) for name, parse in _parsers().items()}
    if given["endpoint-url"] and given["target"]:
        raise pytest.UsageError(f"--{PREFIX}-endpoint-url and --{PREFIX}-target exclude each other")
    own_target = given["endpoint-url"] or given["target"]  # the plugin's own choice of target drops the file's
    for name, parse in _parsers().items():
        if given[name] is None and not (own_target and name in ("endpoint-url", "target")):
            given[name] = _from_file(config, name, parse)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)  # set in each xdist worker
    flags = {flag: config.getoption(_ini_key(flag)) for flag in _FLAGS}
    flags = {flag: bool(value) if value is not None else bool(config.getini(_ini_key(flag)))
             or bool(_from_file(config, flag, str)) for flag, value in flags.items()}
    return Options(
        endpoint_url=given["endpoint-url"], target=given["target"], profile=given["profile"],
        region=given["region"] or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        protocol=given["protocol"] or "all",
        rate=given["rate"] / workers if given["rate"] else None,  # the rate is the whole run's: each worker's share
        settle_timeout=given["settle-timeout"],
        max_examples=given["max-examples"] or DEFAULT_MAX_EXAMPLES,
        no_create_jobs=flags["no-create-jobs"], schema_dir=given["schemas"], all_operations=flags["all-operations"],
        baseline=given["baseline"], baseline_strict=flags["baseline-strict"], checks=_checks(config),
        seed=given["seed"], config_file=_file_options(config)[0])


@pytest.fixture(scope="session")
def conformance_options(pytestconfig: pytest.Config) -> Options:
    """The session's resolved `--conformance-…` options."""
    try:
        return options(pytestconfig)
    except pytest.UsageError as exc:  # found only when the suite runs: say it once per test, without a traceback
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def conformance_target(conformance_options: Options) -> Iterator[Target]:
    """The endpoint under test: --conformance-endpoint-url, moto, or the embedded reference server (resolved as the
    CLI resolves its own options, `targets.resolve`)."""
    from conformance.targets.moto import MotoUnavailable
    from conformance.targets.resolve import TargetChoice, open_target

    settings = conformance_options
    choice = TargetChoice(endpoint_url=settings.endpoint_url, target=settings.target, region=settings.region,
                          profile=settings.profile, schema_dir=settings.schema_dir,
                          no_create_jobs=settings.no_create_jobs, serve_apart=False)
    with contextlib.ExitStack() as stack:
        try:
            target = open_target(choice, stack)
        except MotoUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield target


@pytest.fixture(scope="session")
def conformance_transport(conformance_options: Options, conformance_target: Target) -> Iterator[Transport]:
    """A keep-alive transport to the target, shared by the whole session."""
    transport = Transport(conformance_target, rate=conformance_options.rate)
    yield transport
    _stop_leftover_jobs(transport)
    transport.close()


@pytest.fixture(scope="session")
def conformance_lifecycle(conformance_options: Options, conformance_target: Target) -> LifecycleConfig:
    """How the job lifecycle test waits for a stopped job: --conformance-settle-timeout, else the target's default
    (as `conformance run` resolves it: 5 s on loopback, 60 s elsewhere)."""
    return lifecycle_for(conformance_target, conformance_options.settle_timeout)


@pytest.fixture(scope="session")
def conformance_max_examples(pytestconfig: pytest.Config, conformance_options: Options) -> int | None:
    """Generated cases per operation and protocol, or None when the user chose a Hypothesis profile."""
    from hypothesis import settings

    current = settings.get_current_profile_name()
    # Hypothesis loads its own "ci" profile by itself when it sees a CI environment; that is not the user's choice
    # unless it changes max_examples.
    automatic = current == "default" or (
        current == "ci" and settings.get_profile("ci").max_examples == settings.get_profile("default").max_examples)
    chosen = pytestconfig.getoption("hypothesis_profile", None) or not automatic
    return None if chosen else conformance_options.max_examples


def judged_checks(failures: list[tuple[str, Failed]]) -> list[tuple[str, Failed]]:
    """The failures of the checks --conformance-check and --conformance-exclude-check select (all without them)."""
    if not _SESSION:
        return failures
    config = _SESSION[0]
    if _CHECKS_KEY not in config.stash:  # resolved once: every judged case asks
        config.stash[_CHECKS_KEY] = options(config).checks
    chosen = config.stash[_CHECKS_KEY]
    return failures if chosen is None else [(check, verdict) for check, verdict in failures if check in chosen]


def _stop_leftover_jobs(transport: Transport) -> None:
    """Stop every job the session started and did not see stopped (a test ended early): never leave one running."""
    import warnings

    from conformance.engine.job_flow import stop_leftovers
    from conformance.protocols import get_protocol

    stop_leftovers(transport, {op.name: (op, get_protocol(ProtocolName.AWS_JSON_1_1)) for op in selected_operations()[1]})
    for service, job_id in transport.jobs.unstopped():
        warnings.warn(f"JOB LEFT RUNNING: {service} job {job_id} was started by this session and could not be "
                      "stopped; stop it by hand", stacklevel=1)


@pytest.fixture(scope="session")
def conformance_served(conformance_transport: Transport) -> dict[tuple[str, str], bool]:
    """Which (operation, protocol) lanes the target serves, probed once per session."""
    from conformance.engine.execute import execute
    from conformance.engine.lanes import Lane
    from conformance.engine.phases.probe import lane_state, probe_case
    from conformance.engine.results import LaneState
    from conformance.protocols import SUPPORTED, get_protocol

    lanes = [Lane(op, get_protocol(name)) for op in selected_operations()[0] for name in op.service.protocols
             if name in SUPPORTED]
    probes = {lane.key: execute(lane.operation, probe_case(lane), lane.protocol, conformance_transport)
              for lane in lanes}  # as `probe_lane`, keeping each answer's absence for the message below
    states = {key: lane_state(result) for key, result in probes.items()}
    if states and all(state is LaneState.UNANSWERED for state in states.values()):
        _exit_unreachable(conformance_transport.target, next(iter(probes.values())))
    return {key: state is LaneState.SERVED for key, state in states.items()}


EXIT_UNREACHABLE = 3  # as `conformance run` exits for an endpoint that answered nothing (engine.verdict)


def _exit_unreachable(target: Target, result: CaseResult) -> None:
    """End the session at once with one line: the endpoint answered no probe, so no test could say anything (not
    hundreds of skips and errors each saying "not served")."""
    # The transport's own words (connection refused, timed out, ...), as the `answered` check put them.
    why = next((verdict.message for verdict in result.failures().values()), "no answer")
    pytest.exit(f"conformance: UNREACHABLE: {', '.join(target.urls())} answered no probe ({why}); "
                "nothing was tested", returncode=EXIT_UNREACHABLE)


@functools.cache
def _load_baseline(path: Path, strict: bool) -> Baseline:
    """The baseline file, read once per session; a bad one is a usage error in one line."""
    from conformance.engine.baseline import BaselineError, load

    try:
        return load(path, strict=strict)
    except BaselineError as exc:
        raise pytest.UsageError(f"--{PREFIX}-baseline: {exc}") from None


def _session_baseline(config: pytest.Config) -> Baseline | None:
    """The session's --conformance-baseline, or None."""
    chosen = options(config)
    return None if chosen.baseline is None else _load_baseline(chosen.baseline, chosen.baseline_strict)


@dataclass
class BaselineTracker:
    """What one test met of the baseline: the entries its failures matched, and each (operation, protocol, check,
    category) it judged."""

    baseline: Baseline
    accepted: list[Entry]
    tested: set[tuple[str, str, str, str]]


_BASELINE_KEY = pytest.StashKey[BaselineTracker]()
_ACTIVE: list[BaselineTracker] = []  # the running test's tracker: the suite's `_judge` has no request to find it by


@pytest.fixture
def conformance_baseline(request: pytest.FixtureRequest) -> Iterator[BaselineTracker | None]:
    """With --conformance-baseline: this test's tracker (None without one); every suite test uses it."""
    baseline = _session_baseline(request.config)
    if baseline is None:
        yield None
        return
    tracker = BaselineTracker(baseline, [], set())
    request.node.stash[_BASELINE_KEY] = tracker
    _ACTIVE[:] = [tracker]
    try:
        yield tracker
    finally:
        _ACTIVE.clear()


def new_failures(result: CaseResult, failures: list[tuple[str, Failed]]) -> list[tuple[str, Failed]]:
    """The failures of a case no baseline entry accepts (all of them without --conformance-baseline); the accepted
    ones are kept for the test's report (an xfail)."""
    from conformance.engine.verdict import failure_entry, tested_keys

    tracker = _ACTIVE[0] if _ACTIVE else None
    if tracker is None:
        return failures
    tracker.tested |= tested_keys(result)
    new = []
    for check, verdict in failures:
        entry = failure_entry(result, check)
        if entry in tracker.baseline.entries:
            tracker.accepted.append(entry)
        else:
            new.append((check, verdict))
    return new


def _baseline_outcome(item: pytest.Item, report: pytest.TestReport) -> None:
    """A passing test whose failures a baseline accepted is an xfail; one that judged an entry's check and category
    and never failed so is an xpass: that entry is fixed (with --conformance-baseline-strict, a failure). Fixed is
    per test here: another test may still reproduce the entry (the CLI's run judges it over the whole run)."""
    tracker = item.stash.get(_BASELINE_KEY, None)
    if tracker is None or report.when != "call" or not report.passed:
        return
    if tracker.accepted:
        causes = sorted(set(tracker.accepted))
        report.outcome = "skipped"
        report.wasxfail = (f"accepted by the baseline: {len(tracker.accepted)} failure(s) of {len(causes)} cause(s), "
                           f"e.g. {causes[0].describe()}")
        return
    fixed = sorted(entry for entry in tracker.baseline.entries if entry.tested_key in tracker.tested)
    if not fixed:
        return
    reason = f"fixed: remove it from the baseline: {fixed[0].describe()}" + (
        f" (and {len(fixed) - 1} more)" if len(fixed) > 1 else "")
    if tracker.baseline.strict:
        report.outcome = "failed"
        report.longrepr = f"[XPASS(strict)] {reason}"
    else:
        report.wasxfail = reason


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A suite test's failed check is reported in the suite's layout, less pytest's long traceback through the
    suite's own code and Hypothesis's wrappers (under the default --tb=auto; other styles are left as asked)."""
    report: pytest.TestReport = yield
    excinfo = call.excinfo
    if (report.failed and excinfo is not None and excinfo.errisinstance(AssertionError)
            and "conformance_lane" in getattr(item, "fixturenames", ()) and item.config.option.tbstyle == "auto"):
        # Hypothesis's notes name the failing example (`Draw 1 (case): …`) and how to reproduce it: keep them.
        report.longrepr = "\n".join([str(excinfo.value), *getattr(excinfo.value, "__notes__", ())])
    _baseline_outcome(item, report)
    return report


@functools.cache
def _sdk_protocols() -> dict[str, str]:
    """The protocol AWS SDKs send each operation over, by operation name (read once: tests ask per case)."""
    from conformance.model.botocore_model import sdk_protocol
    from conformance.model.operations import load_operations

    return {op.name: sdk_protocol(op.service.protocols) for op in load_operations()}


@pytest.fixture
def conformance_lane(request: pytest.FixtureRequest, conformance_options: Options,
                     conformance_served: dict[tuple[str, str], bool]) -> None:
    """Skip a test whose lane the target does not serve, or fail it where the lane must be served (the protocol
    AWS SDKs send, or one asked for by name). The test's `operation` and `protocol` parameters are names."""
    operation, protocol = request.node.callspec.params["operation"], request.node.callspec.params["protocol"]
    wanted = conformance_options.protocol
    if wanted not in ("all", protocol):
        pytest.skip(f"--{PREFIX}-protocol {wanted}")
    if not conformance_served[(operation, protocol)]:
        message = f"{protocol}: not served by this endpoint ({operation})"
        if wanted == protocol:
            pytest.fail(message + ", which was asked for")
        if _sdk_protocols()[operation] == protocol:
            pytest.fail(message + ", the protocol AWS SDKs send it over")
        pytest.skip(message)
