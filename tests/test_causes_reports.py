"""One entry per failing answer and cause in every report, case IDs, `--rerun REPORT --case ID`, and the Markdown
clipping at a word: over loopback against the reference server's fault variants and moto (no mocks)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.cli import main
from conformance.engine.config import RunConfig
from conformance.engine.runner import run as run_suite
from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings
from conformance.reference.variants import build_app
from conformance.report import Summary, summarise, terminal
from conformance.report.causes import by_answer, by_cause, case_id
from conformance.report.markdown import clip_words
from conformance.targets.target import Target

FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)
REPO = Path(__file__).parent.parent
# Measured at fe82bb2 (before one block per answer): `run --target moto --max-examples 5 --seed 1` printed 423
# lines, 331 of them for its failures (first FAILED line to the verdict), in 42 blocks. One block per answer and
# cause: 311 lines, 219 for failures, in 19 blocks; with the first 8 causes whole and the rest a line each, 158.
MOTO_LINES_BEFORE = 423
MOTO_FAILURE_LINES_BEFORE = 331
MOTO_BLOCKS_BEFORE = 42


def run_against(name: str, seed: int = 1, max_examples: int = 0) -> Summary:
    """A run against the reference server's variant `name`, in-process (no job flows: quick)."""
    with ReferenceServer(app=build_app(name, timings=FAST_JOBS)) as server:
        return summarise(run_suite(RunConfig(Target(server.url), max_examples=max_examples, seed=seed,
                                             read_timeout=5.0, create_jobs=False)))


def cli(url: str, *options: str) -> int:
    """`conformance run` against `url`, quickly."""
    return main(["run", "--endpoint-url", url, "--max-examples", "0", "--seed", "1", "--settle-timeout", "2",
                 "--read-timeout", "5", "--no-create-jobs", *options])


def failure_lines(text: str) -> list[str]:
    """The terminal report's lines from its first failure to the verdict."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("FAILED ", "WARNING ")))
    end = next(i for i, line in enumerate(lines) if line.startswith(("DOES NOT CONFORM", "INCOMPLETE")))
    return lines[start:end]


@pytest.fixture(scope="module")
def five_hundreds() -> Summary:
    return run_against("client_errors_500")


def test_an_answer_that_fails_several_checks_is_one_block_naming_them_all(five_hundreds: Summary) -> None:
    out = io.StringIO()
    terminal.write(five_hundreds, out)
    text = out.getvalue()
    answers = by_answer(five_hundreds.failures)
    several = [answer for answer in answers if len(answer.checks) > 1]
    assert several, "client_errors_500 answers 500: status_code and no_server_error fail on one answer"
    blocks = [line for line in text.splitlines() if line.startswith("FAILED ")]
    assert len(blocks) == len(by_cause(five_hundreds.failures)) < len(five_hundreds.failures)
    for answer in several:  # shown: its ID once, a checks line naming every check, a message line per other check
        if f"[{answer.case_id}]:" not in text:
            continue  # not the cause's shown answer
        block = text.split(f"[{answer.case_id}]:")[1].split("\n\n")[0]
        assert sum(1 for line in blocks if f"[{answer.case_id}]" in line) == 1
        assert f"  checks:    {', '.join(answer.checks)}" in block
        assert all(f"{check}: " in block for check in answer.checks[1:])
        assert block.count("reproduce: ") == 1 + block.count("reproduce minimal: ")


def test_json_keeps_every_record_with_its_case_id_and_lists_causes(five_hundreds: Summary, tmp_path: Path) -> None:
    import jsonschema

    from conformance.report import json_report
    json_report.write(five_hundreds, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    schema = json.loads((REPO / "docs" / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
    assert len(data["failures"]) == len(five_hundreds.failures)
    assert [r["case_id"] for r in data["failures"]] == [case_id(r) for r in five_hundreds.failures]
    assert sum(cause["count"] for cause in data["causes"]) == len(by_answer(five_hundreds.failures))
    assert {i for cause in data["causes"] for i in cause["case_ids"]} == {r["case_id"] for r in data["failures"]}


def test_junit_shows_an_answer_s_request_once(five_hundreds: Summary) -> None:
    from conformance.report import junit
    tree = junit.build(five_hundreds)
    texts = "\n".join(failure.text or "" for failure in tree.iter("failure"))
    answer = next(answer for answer in by_answer(five_hundreds.failures) if len(answer.checks) > 1)
    assert texts.count(answer.first.curl) == 1
    assert f"reproduce: as under {answer.checks[0]}, case [{answer.case_id}]" in texts
    cases = [case for case in tree.iter("testcase") if case.find("failure") is not None]
    assert {case.get("name") for case in cases} >= set(answer.checks)  # a testcase per check × lane stays


def test_markdown_names_causes_by_id(five_hundreds: Summary) -> None:
    from conformance.report import markdown
    text = markdown.build(five_hundreds)
    causes = by_cause(five_hundreds.failures)
    assert text.count("<details>") == min(len(causes), markdown.MAX_CHECKS)
    assert all(f"[{cause.shown.case_id}]" in text for cause in causes[:markdown.MAX_CHECKS])


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.sampled_from(["client_errors_500", "html_error_pages"]))
def test_case_ids_are_stable_across_runs_of_a_seed_and_distinct_per_case(seed: int, variant: str) -> None:
    first, second = run_against(variant, seed, max_examples=2), run_against(variant, seed, max_examples=2)
    ids = sorted((case_id(r), r.check) for r in first.failures)
    assert ids and ids == sorted((case_id(r), r.check) for r in second.failures)
    sent: dict[str, set[tuple[str, str, str]]] = {}
    for record in first.failures:  # one ID, one case: the lane, its category and the bytes it sent
        sent.setdefault(case_id(record), set()).add((record.operation, record.category, record.request.body.shown))
    assert all(len(cases) == 1 for cases in sent.values())


@pytest.fixture()
def failing() -> Iterator[str]:
    with ReferenceServer(app=build_app("client_errors_500", timings=FAST_JOBS)) as server:
        yield server.url


def test_rerun_of_one_case_sends_it_once_and_says_still_failing(failing: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(failing, "--report-json", str(tmp_path / "first.json")) == 1
    first = json.loads((tmp_path / "first.json").read_text(encoding="utf-8"))
    chosen = first["failures"][0]["case_id"]
    capsys.readouterr()
    assert cli(failing, "--rerun", str(tmp_path / "first.json"), "--case", chosen,
               "--report-json", str(tmp_path / "again.json")) == 1
    out = capsys.readouterr().out
    again = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    lanes = len(again["coverage_contract"])
    # the one case, and each lane's probe and unsigned case (every run sends those)
    assert sum(sum(counts.values()) for counts in again["coverage"].values()) == 1 + 2 * lanes
    assert again["requests_sent"] < first["requests_sent"]
    checks = {r["check"] for r in first["failures"] if r["case_id"] == chosen}
    assert again["rerun"]["cases"] == 1 and again["rerun"]["now_passing"] == []
    assert {(s["case_id"], s["check"]) for s in again["rerun"]["still_failing"]} == {(chosen, c) for c in checks}
    assert out.startswith(f"rerun of {tmp_path / 'first.json'}: 1 case(s)")
    assert f"still failing: [{chosen}]" in out


def test_rerun_against_a_fixed_target_reports_now_passing(failing: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(failing, "--report-json", str(tmp_path / "first.json")) == 1
    first = json.loads((tmp_path / "first.json").read_text(encoding="utf-8"))
    with ReferenceServer(app=ReferenceApp(jobs=JobStore(SystemClock(), FAST_JOBS))) as fixed:
        assert cli(fixed.url, "--rerun", str(tmp_path / "first.json"), "--report-json",
                   str(tmp_path / "again.json")) == 0
    again = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))["rerun"]
    assert again["still_failing"] == [] and again["new"] == []
    assert {(s["case_id"], s["check"]) for s in again["now_passing"]} == {(r["case_id"], r["check"])
                                                                          for r in first["failures"]}
    assert "now passing: [" in capsys.readouterr().out


def test_an_unknown_case_id_exits_2_saying_where_ids_are(failing: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(failing, "--report-json", str(tmp_path / "first.json")) == 1
    capsys.readouterr()
    assert cli(failing, "--rerun", str(tmp_path / "first.json"), "--case", "00000000") == 2
    err = capsys.readouterr().err
    assert "--case 00000000" in err and "case_id" in err and "in brackets" in err
    assert cli(failing, "--case", "00000000") == 2  # --case without --rerun


words = st.lists(st.text(st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=12), max_size=40)


@given(words, st.integers(5, 120))
def test_a_clipped_note_never_ends_mid_word(parts: list[str], limit: int) -> None:
    text = " ".join(parts)
    clipped = clip_words(text, limit)
    if clipped == text:
        assert len(text) <= limit
        return
    kept = clipped.removesuffix(" …")
    assert clipped.endswith(" …") and text.startswith(kept) and len(kept) <= limit
    if " " in text[:limit + 1].strip():  # a word boundary within reach: the cut falls on one
        assert text[len(kept)] == " " and kept.split(" ")[-1] in parts


def test_the_markdown_cell_clips_at_a_word() -> None:
    from conformance.report.markdown import _cell
    note = "StopPHIDetectionJob over awsJson1_1: " + "the job could not be started " * 20
    assert _cell(note).endswith(" …") and not _cell(note).endswith("cou …")
    assert _cell(note).removesuffix(" …").split(" ")[-1] in note.split(" ")


def test_against_moto_the_failures_print_in_far_fewer_lines(tmp_path: Path) -> None:
    pytest.importorskip("moto")
    done = subprocess.run([sys.executable, "-m", "conformance", "run", "--target", "moto", "--max-examples", "5",
                           "--seed", "1"], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stderr[-2000:]
    lines = failure_lines(done.stdout)
    blocks = [line for line in lines if line.startswith(("FAILED ", "WARNING "))]
    assert len(blocks) * 2 <= MOTO_BLOCKS_BEFORE  # at most half the blocks
    assert len(lines) * 2 <= MOTO_FAILURE_LINES_BEFORE  # at most half the lines
    assert len(done.stdout.splitlines()) * 2 <= MOTO_LINES_BEFORE  # the whole report too
    # The first causes are whole blocks, the rest a line each, naming every check its answer failed.
    assert "more cause(s), a line each" in done.stdout
    ids = [line.split("[")[1].split("]")[0] for line in blocks]
    assert len(ids) == len(set(ids))  # no answer shown twice
