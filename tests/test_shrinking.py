"""Minimal failing examples: a failing generated case shrunk against the live target, bounded, reported beside the
original. The shrinker itself is Hypothesis's; these tests hold what the suite builds on it."""

from __future__ import annotations

import dataclasses
import json
import time
import unicodedata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cases import Case
from conformance.cli import main
from conformance.engine.config import RunConfig
from conformance.engine.phases.shrink import MAX_SHRUNK, shrinkable
from conformance.engine.runner import run
from conformance.generation import strategies
from conformance.generation.drawer import Drawer
from conformance.generation.shrinking import replay, shrink
from conformance.model.operations import load_operations
from conformance.protocols import get_protocol
from conformance.reference import ReferenceServer
from conformance.reference.variants import build_app
from conformance.report import json_report, markdown, summarise
from conformance.report.terminal import format_failure
from conformance.targets.target import Target

OPERATIONS = load_operations()
PII = next(op for op in OPERATIONS if op.name == "StopPiiEntitiesDetectionJob")
FAMILIES = {family.category: family for family in strategies.families(PII, get_protocol("awsJson1_1"), OPERATIONS)}
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "report.schema.json").read_text(encoding="utf-8"))


def _drawn(category: str, seed: int, wanted: Any) -> Case:
    """A case of the family drawn with its choices (as a plan draws it) that `wanted` accepts."""
    drawer: Drawer[Case] = Drawer(FAMILIES[category].strategy, seed)
    for _ in range(500):
        case = drawer.draw()
        if wanted(case):
            return dataclasses.replace(case, choices=drawer.choices)
    raise AssertionError(f"no {category} case as wanted")


def _non_ascii(case: Case) -> bool:
    return any(ord(char) > 0x7F for char in case.document["JobId"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_a_shrink_keeps_the_failure_and_never_grows_the_case(seed: int) -> None:
    failing = _drawn("valid.mixed", seed, lambda case: _non_ascii(case) and len(case.document["JobId"]) > 3)
    assert replay(FAMILIES["valid.mixed"].strategy, failing.choices or ()) == failing
    shrunk = shrink(FAMILIES["valid.mixed"].strategy, failing, _non_ascii, 500, time.monotonic() + 30)
    assert _non_ascii(shrunk.case) and shrunk.case.category == failing.category
    assert len(shrunk.case.document["JobId"]) == 1 and shrunk.finished  # one character, the fault's own


@pytest.mark.parametrize("bound", ["tries", "deadline", "stop", "raises"])
def test_every_bound_ends_a_shrink_with_a_failing_case(bound: str) -> None:
    failing = _drawn("valid.mixed", 3, lambda case: _non_ascii(case) and len(case.document["JobId"]) > 8)
    calls: list[Case] = []

    def fails(case: Case) -> bool:
        calls.append(case)
        if bound == "raises" and len(calls) > 2:
            raise RuntimeError("the budget is spent")
        return _non_ascii(case)
    shrunk = shrink(FAMILIES["valid.mixed"].strategy, failing, fails, 3 if bound == "tries" else 10_000,
                    time.monotonic() + (0 if bound == "deadline" else 60), stop=lambda: bound == "stop")
    assert not shrunk.finished and _non_ascii(shrunk.case)
    assert shrunk.tries == len(calls) <= 3


def test_a_case_that_no_longer_fails_is_left_as_it_was() -> None:
    failing = _drawn("valid.mixed", 4, _non_ascii)
    shrunk = shrink(FAMILIES["valid.mixed"].strategy, failing, lambda case: False, 100, time.monotonic() + 30)
    assert shrunk.case == failing and shrunk.tries == 1 and not shrunk.finished


def test_only_generated_failures_in_the_usual_spelling_are_shrunk_one_per_lane_and_check() -> None:
    with ReferenceServer(app=build_app("letters_ascii_only")) as server:
        result = run(RunConfig(Target(server.url), max_examples=60, seed=2, create_jobs=False, shrink_requests=0))
    chosen = shrinkable(result.results)
    assert 0 < len(chosen) <= MAX_SHRUNK and not result.shrinkings  # 0 requests: nothing shrunk
    assert len({(original.lane, check) for original, check in chosen}) == len(chosen)
    assert all(original.case.choices is not None and not original.case.spelling for original, _ in chosen)
    assert any(r.failures() and r.case.choices is None for r in result.results)  # the catalog's: not shrinkable


@pytest.mark.parametrize(("variant", "category", "allowed"), [
    ("letters_ascii_only", "valid.", lambda char: unicodedata.category(char).startswith("L") and ord(char) > 0x7F),
    ("marks_allowed", "invalid.char.combining_mark", lambda char: unicodedata.category(char).startswith("M")),
])
def test_a_fault_of_one_character_class_is_reported_with_a_minimal_example_of_one_or_two_characters(
        variant: str, category: str, allowed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    with ReferenceServer(app=build_app(variant)) as server:
        code = main(["run", "--endpoint-url", server.url, "--no-create-jobs", "--max-examples", "60", "--seed", "1",
                     "--operation", PII.name, "--protocol", "awsJson1_1", "--report-json", str(report)])
    assert code == 1
    data = json.loads(report.read_text())
    jsonschema.validate(data, SCHEMA)
    shrunk = [failure for failure in data["failures"] if failure["minimal"] and
              failure["case"]["category"].startswith(category)]
    assert shrunk, [failure["case"]["category"] for failure in data["failures"]]
    minimal = shrunk[0]["minimal"]
    job_id = minimal["case"]["document"]["JobId"]
    assert 1 <= len(job_id) <= 2 and any(allowed(char) for char in job_id), job_id
    assert len(shrunk[0]["case"]["document"]["JobId"]) >= len(job_id) and minimal["tries"] > 0
    assert minimal["actual"]["status"] == 400 and minimal["curl"].startswith("printf")
    out = capsys.readouterr().out
    assert "minimal:" in out and json.dumps(job_id, ensure_ascii=False)[1:-1] in out


def test_the_terminal_and_markdown_show_the_minimal_beside_the_original() -> None:
    with ReferenceServer(app=build_app("letters_ascii_only")) as server:
        summary = summarise(run(RunConfig(Target(server.url), max_examples=60, seed=2, create_jobs=False,
                                          operations=(PII.name,), protocol="awsJson1_1")))
    record = next(record for record in summary.failures if record.minimal)
    shown = format_failure(record)
    assert shown.index("actual:") < shown.index("minimal:") < shown.index("reproduce minimal:")
    assert "minimal example" in markdown.build(summary)
    assert json_report.build(summary)["failures"]


def test_a_target_that_answers_one_case_two_ways_ends_the_shrink_without_an_error() -> None:
    failing = _drawn("valid.mixed", 5, lambda case: _non_ascii(case) and len(case.document["JobId"]) > 8)
    answered: dict[tuple[object, ...], bool] = {}

    def flaky(case: Case) -> bool:  # each time a case comes again, the other answer: Hypothesis's engine gives up
        answered[case.key()] = not answered.get(case.key(), False)
        return answered[case.key()]
    shrunk = shrink(FAMILIES["valid.mixed"].strategy, failing, flaky, 10_000, time.monotonic() + 60)
    assert not shrunk.finished and shrunk.tries >= 1 and shrunk.case.category == failing.category
