"""The drawing process: the same cases as drawing in-process, whatever becomes of the child."""

from __future__ import annotations

import os
import pickle
import signal
import socket

import cbor2
import pytest

from conformance.cases import ABSENT
from conformance.engine import plan
from conformance.engine.config import RunConfig
from conformance.engine.runner import run
from conformance.generation import drawing_process, streams
from conformance.targets.target import Target

pytestmark = pytest.mark.skipif(not drawing_process.available(), reason="no fork on this platform")

NOWHERE = Target("http://127.0.0.1:9")  # planning sends nothing


def planned_cases(config: RunConfig) -> dict[tuple[str, str], list[str]]:
    """Every lane's planned cases, spelled out, drawn whole; the drawing process (if any) closed after."""
    prepared = plan.prepare(config)
    try:
        return {key: [repr(case) for case in prepared.planned[key]] for key in prepared.planned}
    finally:
        prepared.close()


@pytest.fixture(autouse=True)
def fresh_streams() -> None:
    """No case drawn by an earlier test: each test here draws from the start."""
    streams.stream.cache_clear()


def test_the_drawing_process_draws_exactly_the_cases_drawn_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    config = RunConfig(NOWHERE, max_examples=60, seed=11)
    prepared = plan.prepare(config)
    assert prepared.drawing is not None
    ahead = {key: [repr(case) for case in prepared.planned[key]] for key in prepared.planned}
    prepared.close()
    drawn = streams.stream.cached_values()
    assert drawn and all(stream._made == 0 for stream in drawn)  # every generated case came from the child
    assert all(stream.held() >= 60 for stream in drawn)  # and is kept here: a later run of the seed draws none
    assert plan.start_drawing_process(config, prepared.lanes, plan.load_operations(), plan.prepare(
        RunConfig(NOWHERE, max_examples=60, seed=11, drawing_process=False)).planned) is None
    streams.stream.cache_clear()
    here = planned_cases(RunConfig(NOWHERE, max_examples=60, seed=11, drawing_process=False))
    assert ahead == here
    assert any("rpcv2Cbor" in key[1] for key in here)  # CBOR documents (tags, undefined) went through the pipe


def test_a_drawing_process_that_vanishes_midway_is_drawn_for_in_process() -> None:
    expected = planned_cases(RunConfig(NOWHERE, max_examples=80, seed=5, drawing_process=False))
    streams.stream.cache_clear()
    prepared = plan.prepare(RunConfig(NOWHERE, max_examples=80, seed=5))
    process = prepared.drawing
    assert process is not None
    first = next(iter(prepared.planned))
    partial = prepared.planned._case(first, 40)  # type: ignore[attr-defined]
    assert partial is not None
    os.kill(process._pid, signal.SIGKILL)
    got = {key: [repr(case) for case in prepared.planned[key]] for key in prepared.planned}
    prepared.close()
    assert process.lost
    assert got == expected
    assert any(stream._made > 0 for stream in streams.stream.cached_values())  # the rest was drawn here


def test_a_second_drawing_process_continues_where_the_first_left_off() -> None:
    expected = planned_cases(RunConfig(NOWHERE, max_examples=90, seed=3, drawing_process=False))
    streams.stream.cache_clear()
    planned_cases(RunConfig(NOWHERE, max_examples=20, seed=3))  # a first run holds a few cases
    assert planned_cases(RunConfig(NOWHERE, max_examples=90, seed=3)) == expected


def test_the_drawing_process_holds_no_descriptor_of_the_parent() -> None:
    ours, peer = socket.socketpair()
    prepared = plan.prepare(RunConfig(NOWHERE, max_examples=40, seed=2))
    try:
        assert prepared.drawing is not None
        ours.close()  # the child got a copy at the fork: had it kept it open, the peer would see no end
        peer.settimeout(5)
        assert peer.recv(1) == b""
        assert os.waitpid(prepared.drawing._pid, os.WNOHANG) == (0, 0)  # the child is still there
    finally:
        prepared.close()
        peer.close()


def test_a_finished_run_leaves_no_drawing_process(live_reference_server, monkeypatch: pytest.MonkeyPatch) -> None:
    processes: list[drawing_process.DrawingProcess] = []
    start = plan.start_drawing_process

    def recording(*args: object) -> drawing_process.DrawingProcess | None:
        process = start(*args)  # type: ignore[arg-type]
        if process is not None:
            processes.append(process)
        return process

    monkeypatch.setattr(plan, "start_drawing_process", recording)
    result = run(RunConfig(Target(live_reference_server.url), max_examples=30, seed=4))
    assert result.results and len(processes) == 1
    with pytest.raises(ChildProcessError):  # killed and reaped
        os.waitpid(processes[0]._pid, os.WNOHANG)


def test_what_cases_hold_crosses_the_pipe_unchanged() -> None:
    values = [cbor2.CBORTag(1, [cbor2.undefined, cbor2.CBORSimpleValue(99)]), ABSENT, {"JobId": b"\x00"}]
    back = pickle.loads(drawing_process._dumps(values))
    assert back[0] == values[0] and back[0].value[0] is cbor2.undefined and back[1] is ABSENT and back[2] == values[2]


def test_a_run_that_cannot_fork_draws_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = planned_cases(RunConfig(NOWHERE, max_examples=30, seed=8, drawing_process=False))
    streams.stream.cache_clear()

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    prepared = plan.prepare(RunConfig(NOWHERE, max_examples=30, seed=8))
    assert prepared.drawing is None
    assert {key: [repr(case) for case in prepared.planned[key]] for key in prepared.planned} == expected
