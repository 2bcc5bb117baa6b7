"""The JUnit XML report: one test suite per lane, one test case per check that applied, with times."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from conformance.cases import lane_label
from conformance.judging.check_results import NotApplicable, Severity
from conformance.judging.checks import REGISTRY
from conformance.report import Summary
from conformance.report.causes import Answered, by_answer
from conformance.report.records import FailureRecord, case_shown, recorded_line
from conformance.wire.http import clipped

MAX_MESSAGES = 10


def build(summary: Summary) -> ET.Element:
    """The report as an XML tree."""
    suites = ET.Element("testsuites", name="conformance", time=f"{summary.run.elapsed:.3f}")
    problems = summary.failures + summary.warnings
    times, lane_times = _check_times(summary), _lane_times(summary)
    # A testcase per check × lane stays (CI dashboards count them), but an answer that failed several checks is
    # shown in full once, under the first check it failed; the others name it by case ID and point there.
    owner = {id(record): answer for answer in by_answer(problems) for record in answer.records}
    for operation, cells in summary.matrix.items():
        # A check that did not apply was not a test: it is left out, not counted as skipped.
        applied = {check_id: cell for check_id, cell in cells.items() if cell.state not in ("skipped", "n/a")}
        # With a baseline, a check whose every failure an entry accepts is skipped (as pytest reports an xfail).
        accepted = {check_id for check_id in applied if _only_accepted(problems, operation, check_id)}
        failed = sum(1 for check_id, cell in applied.items() if cell.failed and REGISTRY[check_id].severity is Severity.ERROR
                     and check_id not in accepted)
        suite = ET.SubElement(suites, "testsuite", name=operation, tests=str(len(applied)), failures=str(failed),
                              errors="0", skipped=str(len(accepted)),
                              time=f"{lane_times.get(operation, 0.0):.3f}")
        for check_id, cell in applied.items():
            case = ET.SubElement(suite, "testcase", classname=operation, name=check_id,
                                 time=f"{times.get((operation, check_id), 0.0):.3f}")
            mine = [r for r in problems if r.operation == operation and r.check == check_id and not r.accepted]
            if check_id in accepted:
                ET.SubElement(case, "skipped", message=f"{cell.failed} accepted failure(s) of the baseline")
            if not mine:
                continue
            text = "\n\n".join(_described(r, owner[id(r)]) for r in mine[:MAX_MESSAGES])
            if REGISTRY[check_id].severity is Severity.WARNING:
                ET.SubElement(case, "system-out").text = text
            else:
                failure = ET.SubElement(case, "failure", message=f"{len(mine)} of {cell.passed + cell.failed} failed: "
                                        f"{mine[0].message}")
                failure.text = text
    _coverage(suites, summary)
    _baseline(suites, summary)
    return suites


def _described(r: FailureRecord, answer: Answered) -> str:
    """One failure in a testcase's text: its case ID and the answer's other failed checks; the request, steps and
    reproduction only under the first check that answer failed (elsewhere: where to find them)."""
    others = [check for check in answer.checks if check != r.check]
    head = f"[{answer.case_id}] case: {r.category}: {r.case['description']}\n" + (
        f"this answer also failed: {', '.join(others)}\n" if others else "")
    head += f"expected: {r.expected}\nactual: {r.actual.status if r.actual else '-'} {r.message}\n"
    if others and answer.checks[0] != r.check:
        return head + f"reproduce: as under {answer.checks[0]}, case [{answer.case_id}]"
    return (head + f"{_usual(r)}{_diagnostics(r)}{_recorded(r)}"
            + (f"steps: {r.steps_heading()}\n" + "".join(f"  {step}\n" for step in r.sequence.steps)
               if r.sequence is not None else "")
            + f"reproduce: {r.curl}{_minimal(r)}")


def _only_accepted(problems: list[FailureRecord], operation: str, check_id: str) -> bool:
    """Whether the check failed on the lane, and a baseline entry accepts each of its failures."""
    mine = [r for r in problems if r.operation == operation and r.check == check_id]
    return bool(mine) and all(r.accepted for r in mine)


def _baseline(suites: ET.Element, summary: Summary) -> None:
    """With --baseline: a suite of its entries: accepted ones pass, fixed ones are skipped (a failure with
    --baseline-strict), new causes fail; none without a baseline."""
    judgement = summary.decision.baseline
    if judgement is None:
        return
    rows = ([(entry, "accepted") for entry in judgement.accepted] + [(entry, "new") for entry in judgement.new]
            + [(entry, "fixed") for entry in judgement.fixed])
    fixed_fail = judgement.strict
    suite = ET.SubElement(suites, "testsuite", name="baseline", tests=str(len(rows)),
                          failures=str(len(judgement.new) + (len(judgement.fixed) if fixed_fail else 0)), errors="0",
                          skipped=str(0 if fixed_fail else len(judgement.fixed)))
    for entry, state in rows:
        case = ET.SubElement(suite, "testcase", classname="baseline", name=entry.describe())
        if state == "new":
            ET.SubElement(case, "failure", message="a new failure: no entry of the baseline accepts it")
        elif state == "fixed":
            ET.SubElement(case, "failure" if fixed_fail else "skipped",
                          message="fixed: remove it from the baseline (--baseline-prune)")
        else:
            ET.SubElement(case, "system-out").text = "accepted by the baseline"


def _minimal(record: FailureRecord) -> str:
    """For a shrunk failing case: its smallest failing form and reproduction, on lines of their own."""
    if record.minimal is None:
        return ""
    return f"\nminimal: {case_shown(record.minimal.case)}\nreproduce minimal: {record.minimal.curl}"


def _recorded(record: FailureRecord) -> str:
    """With `run --recording`: the recorded answer, on a line of its own."""
    return "" if record.recorded is None else f"recorded: {recorded_line(record.recorded)}\n"


def _usual(record: FailureRecord) -> str:
    """For a case in another spelling: the usual spelling's request body and answer, on a line of their own."""
    if record.usual is None:
        return ""
    actual = record.usual.actual
    answered = f"{actual.status} {actual.error_type or ''}".strip() if actual else "no answer"
    return f"usual spelling: body {record.usual.request.body.line()}, answered {answered}\n"


def _diagnostics(record: FailureRecord) -> str:
    """For a CBOR request or answer: its body in diagnostic notation (RFC 8949 §8), a line each."""
    bodies = (("request body", record.request.body), ("answer body", record.actual.body if record.actual else None))
    return "".join(f"{name} (CBOR): {clipped(body.diagnostic, 1000)}\n" for name, body in bodies
                   if body is not None and body.diagnostic is not None)


def _check_times(summary: Summary) -> dict[tuple[str, str], float]:
    """Seconds per (lane label, check): the answer times of the cases the check judged (passed or failed)."""
    times: dict[tuple[str, str], float] = defaultdict(float)
    for result in summary.run.results:
        if result.answer is None:
            continue
        label = lane_label(result.case.operation, result.protocol)
        for check_id, verdict in result.verdicts.items():
            if not isinstance(verdict, NotApplicable):
                times[(label, check_id)] += result.answer.response.elapsed
    return times


def _lane_times(summary: Summary, by_tested_lane: bool = False) -> dict[str, float]:
    """Seconds per lane label: the answer times of its cases, by the operation each called (or, for the coverage
    suite, the lane it tests: a flow's Start and Describe test its Stop's lane)."""
    times: dict[str, float] = defaultdict(float)
    for result in summary.run.results:
        if result.answer is not None:
            operation = (by_tested_lane and result.lane[0]) or result.case.operation
            times[lane_label(operation, result.protocol)] += result.answer.response.elapsed
    return times


def _coverage(suites: ET.Element, summary: Summary) -> None:
    """The coverage contract as a suite: per lane, served or not (a failure where it must be), every promised
    category judged or not (an error: the run is incomplete)."""
    lanes = summary.contract
    failures = sum(1 for lane in lanes if lane.required and lane.state == "not served")
    errors = sum(1 for lane in lanes if lane.not_judged or (lane.required and lane.state == "not probed"))
    suite = ET.SubElement(suites, "testsuite", name="coverage", tests=str(len(lanes)), failures=str(failures),
                          errors=str(errors), skipped=str(sum(1 for lane in lanes if lane.state != "served"
                                                              and not lane.required)))
    times = _lane_times(summary, by_tested_lane=True)
    for lane in lanes:
        label = lane_label(lane.operation, lane.protocol)
        case = ET.SubElement(suite, "testcase", classname="coverage", name=label, time=f"{times.get(label, 0.0):.3f}")
        if lane.state != "served":
            if lane.required and lane.state == "not served":
                ET.SubElement(case, "failure", message=f"{lane.state}, and it must be served")
            elif lane.required:
                ET.SubElement(case, "error", message=f"{lane.state}, and it must be served")
            else:
                ET.SubElement(case, "skipped", message=lane.state)
            continue
        if lane.not_judged:
            ET.SubElement(case, "error", message=f"not judged: {', '.join(lane.not_judged)}")
        ET.SubElement(case, "system-out").text = f"judged: {', '.join(lane.judged)}"


# Characters XML 1.0 cannot carry, even escaped (control characters, lone surrogates, U+FFFE/U+FFFF): a target's
# text and the cases' bodies can hold them, and one of them makes the whole file unreadable to a CI server.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_safe(element: ET.Element) -> ET.Element:
    """The tree with every character XML cannot carry spelled out (`\\x01`, `\\ud800`), in place."""
    for node in element.iter():
        if node.text:
            node.text = _NOT_XML.sub(_visible, node.text)
        if node.tail:
            node.tail = _NOT_XML.sub(_visible, node.tail)
        for name, value in node.attrib.items():
            node.attrib[name] = _NOT_XML.sub(_visible, value)
    return element


def write(summary: Summary, path: Path) -> None:
    """Write the report to a file."""
    tree = ET.ElementTree(xml_safe(build(summary)))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
