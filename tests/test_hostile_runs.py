"""The suite against a target that answers hostile bytes at random: every run ends with a report and a verdict."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hostile_target import HOSTILE_KINDS, HostileTarget

from conformance.cli import main
from conformance.engine.verdict import EXIT_STATUS, Verdict

SEEDS = range(6)
ARGS = ["--max-examples", "4", "--settle-timeout", "1", "--read-timeout", "4", "--workers", "4"]


def test_every_run_against_a_hostile_target_ends_with_a_report_and_a_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served: set[str] = set()
    for seed in SEEDS:
        report, junit = tmp_path / f"report-{seed}.json", tmp_path / f"junit-{seed}.xml"
        with HostileTarget(seed, answers=0.6) as target:
            code = main(["run", "--endpoint-url", target.url, "--seed", str(seed), *ARGS,
                         "--report-json", str(report), "--junitxml", str(junit)])
            served.update(target.served)
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out, seed
        data = json.loads(report.read_text())
        # Hostile answers are failures of the target, never of the suite, and never "unreachable":
        # the honest share answered.
        assert data["verdict"] == Verdict.DOES_NOT_CONFORM.value and code == EXIT_STATUS[Verdict.DOES_NOT_CONFORM]
        assert data["failures"] and captured.out.strip().splitlines()[-1].startswith("DOES NOT CONFORM: ")
        assert {"answered", "body_decodes"} & {failure["check"] for failure in data["failures"]}
        ET.parse(junit)  # well-formed
    assert set(HOSTILE_KINDS) <= served, sorted(set(HOSTILE_KINDS) - served)  # the runs met every kind


@pytest.mark.parametrize("kind", ["deep_cbor", "self_referencing_cbor", "cbor_bignum_10k_bytes",
                                  "json_number_10k_digits", "deep_json", "body_8mib", "gzip_bomb"])
def test_one_hostile_kind_everywhere_is_judged_not_fatal(kind: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    if kind not in HOSTILE_KINDS:
        pytest.skip(f"the hostile target has no kind {kind}")
    report = tmp_path / "report.json"
    with HostileTarget(1, answers=0.0, kinds=[kind]) as target:
        code = main(["run", "--endpoint-url", target.url, "--seed", "1", "--max-examples", "0", "--operation",
                     "StopPHIDetectionJob", "--no-create-jobs", "--report-json", str(report)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    data = json.loads(report.read_text())
    assert code == 1 and data["verdict"] == "does_not_conform"
