"""The terminal report at 80 columns under a real pseudo-terminal: every line fits (but a failure's one curl
reproduction line), FAILED cells in colour on a terminal and plain when piped, a dead port in a few lines, and
progress totals that never change. Over loopback, against the reference server and a faulty variant."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import pty
import re
import select
import socket
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.engine.config import RunConfig
from conformance.engine.runner import run
from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings
from conformance.reference.variants import build_app
from conformance.report import summarise
from conformance.report.terminal import check_codes, fitted, is_reproduction, lane_codes, write
from conformance.targets.target import Target

REPO = Path(__file__).resolve().parent.parent
FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WIDTH = 80
RUN = ["run", "--seed", "3", "--max-examples", "10", "--state-machine-steps", "10", "--shrink-requests", "5"]


def _run_on_pty(argv: list[str], columns: int = WIDTH, stderr_too: bool = False) -> tuple[int, str, str]:
    """`conformance <argv>` with stdout (and with `stderr_too` stderr) on a pseudo-terminal `columns` wide; (exit
    status, what the terminal got with \\r\\n made \\n, stderr where piped)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))  # the terminal's own size
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "conformance", *argv], stdout=slave,
                               stderr=slave if stderr_too else subprocess.PIPE,
                               stdin=subprocess.DEVNULL, env=env, cwd=REPO)
    os.close(slave)
    chunks: list[bytes] = []
    with contextlib.suppress(OSError):  # EIO once the child has closed its end
        while True:  # read while it runs: a full pty buffer would block the child
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            chunk = os.read(master, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(master)
    _, err = process.communicate(timeout=120)
    return process.returncode, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n"), (err or b"").decode()


def _plain(text: str) -> list[str]:
    """The lines as shown: ANSI codes stripped."""
    return ANSI.sub("", text).splitlines()


def _too_long(lines: list[str], width: int = WIDTH) -> list[str]:
    """The lines over `width` characters that are not a failure's curl reproduction."""
    return [line for line in lines if len(line) > width and not is_reproduction(line)]


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    """The reference server on loopback."""
    with ReferenceServer(app=ReferenceApp(jobs=JobStore(SystemClock(), FAST_JOBS))) as server:
        yield server.url


@pytest.fixture(scope="module")
def faulty_url() -> Iterator[str]:
    """A variant that answers errors as HTML pages: many checks fail on every lane."""
    with ReferenceServer(app=build_app("html_error_pages", timings=FAST_JOBS)) as server:
        yield server.url


def test_a_passing_run_fits_80_columns_under_a_pty(reference_url: str) -> None:
    code, out, _ = _run_on_pty([*RUN, "--endpoint-url", reference_url])
    lines = _plain(out)
    assert code == 0 and "CONFORMS" in out
    assert _too_long(lines) == [] and all(len(line) <= WIDTH for line in lines)  # no failure: no exception at all
    assert any(line.startswith("lane ") and " ans " in line for line in lines)  # the compact table, not prose
    assert any(line.startswith("PiiStop/json ") for line in lines) and any(l.startswith("checks: ") for l in lines)
    assert not any(line.startswith("observed: Stop") for line in lines)  # folded into one line without --verbose
    assert sum(line.startswith("observed:") for line in lines) == 1


def test_a_failing_run_fits_80_columns_and_colours_failed_cells_on_a_pty(faulty_url: str) -> None:
    code, out, _ = _run_on_pty([*RUN, "--endpoint-url", faulty_url])
    lines = _plain(out)
    assert code == 1 and "DOES NOT CONFORM" in out
    assert _too_long(lines) == []
    long_ones = [line for line in lines if len(line) > WIDTH]
    assert long_ones and all(" curl " in line for line in long_ones)  # only the one reproduction line of a failure
    assert re.search(r"\x1b\[[0-9;]*31m[^\x1b]*F\d+", out)  # a FAILED cell in red
    assert re.search(r"\x1b\[[0-9;]*31m[^\x1b]*DOES NOT CONFORM", out)  # and the verdict


def test_piped_output_has_no_colour(faulty_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": str(WIDTH)}
    done = subprocess.run([sys.executable, "-m", "conformance", *RUN, "--endpoint-url", faulty_url],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert done.returncode == 1 and "\x1b[" not in done.stdout and re.search(r" F\d+ ", done.stdout)
    assert _too_long(done.stdout.splitlines()) == []


def test_a_dead_port_says_connection_refused_in_at_most_15_lines() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        code, out, err = _run_on_pty([*RUN, "--endpoint-url", f"http://127.0.0.1:{port}"])
        code_all, everything, _ = _run_on_pty([*RUN, "--endpoint-url", f"http://127.0.0.1:{port}"], stderr_too=True)
    lines = _plain(out) + err.splitlines()
    assert code == 3 and len(lines) <= 15, lines
    assert code_all == 3 and _too_long(_plain(everything)) == []  # stderr's lines fit too

    assert "connection refused" in out and any(line.startswith("tried: ") for line in lines)
    assert any(line.startswith("check: ") for line in lines) and "skipped" not in out and "FAILED" not in out
    assert "0 requests" not in out  # the old contradiction: "4 cases, 0 requests" beside "4 request(s) sent"
    assert _too_long(_plain(out)) == []


def test_progress_totals_never_change(reference_url: str) -> None:
    """The callback's total for a lane is the same from its first call (0 done) to its last (all done)."""
    for budget in (None, 300):  # drawn while sent; cut to a budget's share
        seen: dict[str, list[tuple[int, int]]] = {}
        config = RunConfig(target=Target(reference_url), seed=5, max_examples=25, budget=budget)
        run(config, progress=lambda lane, done, total: seen.setdefault(lane, []).append((done, total)))
        assert seen
        for lane, calls in seen.items():
            assert len({total for _, total in calls}) == 1, (lane, budget, calls[:3], calls[-3:])
            assert calls[0][0] == 0  # shown from the start
            assert [done for done, _ in calls] == sorted(done for done, _ in calls)
            if budget is None:  # every planned case went out: the count reaches its total exactly
                assert calls[-1][0] == calls[-1][1]


def test_the_reproduction_rule() -> None:
    """Only a `reproduce` line holding a curl command is left longer than the width; anything else wraps."""
    curl = "  reproduce: printf '%b' '{}' | curl -sS -i -X POST http://127.0.0.1:1/ " + "-H 'X: y' " * 20
    assert fitted(curl, 40) == [curl]
    request = "  request:   POST http://127.0.0.1:1/ " + "x" * 200
    assert all(len(line) <= 40 for line in fitted(request, 40)) and len(fitted(request, 40)) > 5
    assert len(fitted("  reproduce: not a command " * 5, 40)) > 1


def test_codes_are_unique_and_short() -> None:
    labels = [f"{verb}{noun}DetectionJob over {protocol}" for verb in ("Stop", "Start", "Describe")
              for noun in ("PiiEntities", "PHI", "Entities", "EntitiesX") for protocol in ("awsJson1_1", "rpcv2Cbor")]
    codes = lane_codes(labels)
    assert len(set(codes.values())) == len(labels) and codes[labels[0]] == "PiiStop/json"
    from conformance.judging.checks import REGISTRY
    checks = check_codes(list(REGISTRY))
    assert len(set(checks.values())) == len(REGISTRY) and all(len(code) <= 4 for code in checks.values())


def test_a_stopped_run_is_said_at_the_top(reference_url: str) -> None:
    config = RunConfig(target=Target(reference_url), seed=5, max_examples=2000, max_time=0.5)
    summary = summarise(run(config))
    out = io.StringIO()
    write(summary, out)
    assert "STOPPED: stopped by --max-time 0.5" in out.getvalue() and "INCOMPLETE" in out.getvalue()


def test_a_wide_terminal_keeps_the_full_matrix_with_failed_cells_in_red(faulty_url: str) -> None:
    code, out, _ = _run_on_pty([*RUN, "--endpoint-url", faulty_url], columns=250)
    lines = _plain(out)
    assert code == 1 and any(line.startswith("over awsJson1_1 ") for line in lines)  # the full table fits at 250
    assert not any(line.startswith("lane ") for line in lines)
    assert re.search(r"\x1b\[[0-9;]*31m[^\x1b]*FAILED \d+/\d+", out) and _too_long(lines, 250) == []


def test_observations_are_one_line_unless_verbose(reference_url: str) -> None:
    summary = summarise(run(RunConfig(target=Target(reference_url), seed=5, max_examples=5)))
    terse, verbose = io.StringIO(), io.StringIO()
    write(summary, terse)
    write(summary, verbose, verbose=True)
    observed = sum(len(topics) for topics in summary.observations.values())
    assert observed > 1
    assert [line for line in terse.getvalue().splitlines() if line.startswith("observed:")] == [
        next(line for line in terse.getvalue().splitlines() if line.startswith(f"observed: {observed} choice(s)"))]
    assert sum(line.startswith("observed: ") for line in verbose.getvalue().splitlines()) == observed
