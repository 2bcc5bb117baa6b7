"""The JSON report: every failure with its request, answer, expectation and a curl reproduction."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from conformance.judging.checks import REGISTRY, SERVED, SERVED_DESCRIPTION
from conformance.report import Summary
from conformance.report.causes import by_cause, case_id
from conformance.report.records import REPORT_FORMAT, FailureRecord, tool
from conformance.wire.http import clipped


def build(summary: Summary) -> dict[str, Any]:
    """The report as a JSON-ready dict (its layout is documented in the README)."""
    run = summary.run
    config = run.config
    return {
        "format": REPORT_FORMAT,
        "tool": tool(),
        "target": config.target.describe(),
        "protocol": config.protocol,
        "seed": config.seed,
        "max_examples": config.max_examples,
        "elapsed_seconds": round(run.elapsed, 3),
        "requests_sent": run.requests_sent,
        "sender": run.sender,
        "budget": config.budget,
        "verdict": summary.verdict.value,
        "verdict_reasons": list(summary.decision.reasons),
        "stopped": None if run.stopped is None else {"reason": run.stopped.reason.value, "limit": run.stopped.limit,
                                                     "after_seconds": round(run.stopped.after, 3)},
        "exit_status": summary.decision.exit_status(),
        "summary": {
            "cases": len(run.results),
            "failures": len(summary.failures),
            "warnings": len(summary.warnings),
            "not_judged": len(summary.not_judged),
            "not_sent": summary.not_sent,
        },
        "phases": list(run.phases),
        "coverage_contract": [asdict(lane) for lane in summary.contract],
        "skips": [{"reason": skip.reason.name.lower(), "lane": list(skip.lane) if skip.lane else None,
                   "categories": list(skip.categories), "detail": skip.detail, "unsent": skip.unsent}
                  for skip in run.skips],
        "checks": {**{check.id: {"description": check.description, "severity": str(check.severity)}
                      for check in REGISTRY.values()},
                   SERVED: {"description": SERVED_DESCRIPTION, "severity": "error"}},
        "matrix": {op: {check_id: {**asdict(cell), "state": cell.state} for check_id, cell in cells.items()}
                   for op, cells in summary.matrix.items()},
        "coverage": {op: dict(sorted(counts.items())) for op, counts in summary.coverage.items()},
        "properties": {lane: {name: asdict(tally) for name, tally in tallies.items()}
                       for lane, tallies in summary.properties.items()},
        "observations": {op: {topic: dict(choices) for topic, choices in topics.items()}
                         for op, topics in summary.observations.items()},
        "notes": list(summary.notes),
        "reproduce_note": summary.reproduce_note,
        "jobs": {"started": [{"service": service, "job_id": clipped(job_id)} for service, job_id in run.jobs_started],
                 "left_running": [{"service": service, "job_id": clipped(job_id)}
                                  for service, job_id in run.jobs_left_running]},
        # Every record stays (tools read them one by one); each names its case, and `causes` groups them.
        "failures": [_with_id(record) for record in summary.failures],
        "warnings": [_with_id(record) for record in summary.warnings],
        "not_judged": [_with_id(record) for record in summary.not_judged],
        "causes": [cause.to_json() for cause in by_cause(summary.failures)],
        **({"rerun": summary.rerun.to_json()} if summary.rerun is not None else {}),
        **({"baseline": summary.decision.baseline.to_json()} if summary.decision.baseline is not None else {}),
    }


def _with_id(record: FailureRecord) -> dict[str, Any]:
    """A record as the report holds it, with its case's ID."""
    return {**record.to_json(), "case_id": case_id(record)}


def write(summary: Summary, path: Path) -> None:
    """Write the report to a file."""
    path.write_text(json.dumps(build(summary), indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
