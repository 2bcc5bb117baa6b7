"""The terminal report: progress while running, then the matrix, observations and failures."""

from __future__ import annotations

import sys
from typing import TextIO

from conformance.checks import REGISTRY
from conformance.report import Summary
from conformance.verdict import Verdict

MAX_FAILURES_SHOWN = 20  # not-judged cases listed; failures are shown one per operation and check


class ProgressPrinter:
    """Progress per operation: a live line on a terminal, a line per quarter otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._last_quarter: dict[str, int] = {}

    def __call__(self, operation: str, done: int, total: int) -> None:
        if self.live:
            self.stream.write(f"\r  {operation}: {done}/{total} cases" + ("\n" if done == total else ""))
            self.stream.flush()
            return
        quarter = done * 4 // max(total, 1)
        if quarter != self._last_quarter.get(operation):
            self._last_quarter[operation] = quarter
            self.stream.write(f"  {operation}: {done}/{total} cases\n")
            self.stream.flush()


def _cell_text(state: str, passed: int, failed: int) -> str:
    if state == "failed":
        return f"FAILED {failed}/{passed + failed}"
    return f"passed {passed}" if state == "passed" else state


VERDICT_LINE = {Verdict.CONFORMS: "CONFORMS", Verdict.DOES_NOT_CONFORM: "DOES NOT CONFORM",
                Verdict.INCOMPLETE: "INCOMPLETE", Verdict.UNREACHABLE: "UNREACHABLE", Verdict.INTERRUPTED: "INTERRUPTED"}


def write(summary: Summary, stream: TextIO | None = None) -> None:
    """Print the matrix (operation × check), the coverage contract, observations, notes, failures, the verdict."""
    stream = stream or sys.stdout
    run = summary.run
    protocols = ", ".join(sorted({lane.protocol.name for lane in run.lanes})) or run.config.protocol
    print(f"\nTarget {run.config.target.url} over {protocols}, seed {run.config.seed}: "
          f"{len(run.results)} cases, {run.requests_sent} requests in {run.elapsed:.1f}s", file=stream)
    width = max(len(check_id) for check_id in REGISTRY) + 2
    groups: dict[str, list[str]] = {}  # one matrix per protocol
    for label in summary.operations:
        groups.setdefault(label.partition(" over ")[2], []).append(label)
    for protocol, labels in groups.items():
        names = [label.partition(" over ")[0] for label in labels]
        columns = [max(len(name), 16) + 2 for name in names]
        print("\n" + f"over {protocol}".ljust(width) + "".join(n.ljust(w) for n, w in zip(names, columns, strict=True)),
              file=stream)
        for check_id, check in REGISTRY.items():
            row = check_id.ljust(width)
            for label, column in zip(labels, columns, strict=True):
                cell = summary.matrix[label][check_id]
                text = _cell_text(cell.state, cell.passed, cell.failed)
                if check.severity == "warning" and cell.state == "failed":
                    text = f"warned {cell.failed}"
                row += text.ljust(column)
            print(row.rstrip(), file=stream)
    print("\ncoverage (lanes that must be served are marked *):", file=stream)
    for lane in summary.contract:
        mark = "*" if lane.required else " "
        judged = f"{len(lane.judged)} categories judged" if lane.state == "served" else ""
        gap = f"; NOT JUDGED: {', '.join(lane.not_judged)}" if lane.not_judged else ""
        print(f" {mark} {lane.operation} over {lane.protocol}: {lane.state}"
              + (f", {judged}" if judged else "") + gap, file=stream)
    for operation, topics in summary.observations.items():
        for topic, choices in topics.items():
            chosen = ", ".join(f"{choice} ({count})" for choice, count in choices.most_common())
            print(f"observed: {operation}: {topic}: {chosen}", file=stream)
    for note in summary.notes:
        print(f"note: {note}", file=stream)
    if run.config.budget is not None:
        print(f"budget: {run.requests_sent} of {run.config.budget} requests sent; {summary.not_sent} planned case(s) "
              "not sent", file=stream)
    if run.jobs_started:
        print(f"jobs: started {len(run.jobs_started)}, left running {len(run.jobs_left_running)}", file=stream)
    for record in summary.not_judged[:MAX_FAILURES_SHOWN]:
        print(f"not judged: {record['operation']} {record['case']['category']}: {record['message']}", file=stream)
    for records in (summary.failures, summary.warnings):
        for group in _grouped(records):
            write_failure(group[0], stream)
            if len(group) > 1:
                categories = sorted({record["case"]["category"] for record in group[1:]})
                shown = ", ".join(categories[:6]) + (", ..." if len(categories) > 6 else "")
                print(f"  ... and {len(group) - 1} more case(s) fail this check ({shown}); all are in --report-json",
                      file=stream)
    verdict = VERDICT_LINE[summary.verdict]
    reason = summary.decision.reasons[0] if summary.decision.reasons else ""
    more = f" (and {len(summary.decision.reasons) - 1} more)" if len(summary.decision.reasons) > 1 else ""
    extra = f", {len(summary.warnings)} warning(s)" if summary.warnings else ""
    print(f"\n{verdict}" + (f": {reason}{more}" if reason else "") + extra, file=stream)


def _grouped(records: list[dict]) -> list[list[dict]]:
    """Records grouped by operation and check, in order of first appearance."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        groups.setdefault((record["operation"], record["check"]), []).append(record)
    return list(groups.values())


def write_failure(record: dict, stream: TextIO) -> None:
    """Print one failure in the fixed layout."""
    print("\n" + format_failure(record), file=stream)


def format_failure(record: dict) -> str:
    """One failure in the fixed layout: case, request, expected, actual, and how to reproduce it."""
    case, request, actual = record["case"], record["request"], record["actual"]
    label = "WARNING" if record["severity"] == "warning" else "FAILED"
    body = request["body"].get("text", "(base64) " + request["body"].get("base64", ""))
    lines = [
        f"{label} {record['check']} on {record['operation']}: {record['message']}",
        f"  case:      {case['category']}: {case['description']}",
        f"  request:   {request['method']} {request['url']} {_headers_line(request['headers'])} body {body[:200]!r}",
        f"  expected:  {record['expected']}",
    ]
    if actual:
        answer = actual["body"].get("text", "(base64) " + actual["body"].get("base64", ""))
        lines.append(f"  actual:    {actual['status']} {actual['error_type'] or '-'} body {answer[:200]!r}")
    lines.append(f"  reproduce: {record['curl']}")
    return "\n".join(lines)


def _headers_line(headers: dict[str, str]) -> str:
    return " ".join(f"{name}: {value}" for name, value in headers.items() if name.lower() in ("x-amz-target", "content-type"))
