"""The JUnit XML report: one test suite per operation, one test case per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.checks import REGISTRY
from conformance.report import Summary

MAX_MESSAGES = 10


def build(summary: Summary) -> ET.Element:
    """The report as an XML tree."""
    suites = ET.Element("testsuites", name="conformance", time=f"{summary.run.elapsed:.3f}")
    problems = summary.failures + summary.warnings
    for operation, cells in summary.matrix.items():
        failed = sum(1 for check_id, cell in cells.items() if cell.failed and REGISTRY[check_id].severity == "error")
        skipped = sum(1 for cell in cells.values() if cell.state in ("skipped", "n/a"))
        suite = ET.SubElement(suites, "testsuite", name=operation, tests=str(len(cells)), failures=str(failed),
                              errors="0", skipped=str(skipped))
        for check_id, cell in cells.items():
            case = ET.SubElement(suite, "testcase", classname=operation, name=check_id)
            if cell.state in ("skipped", "n/a"):
                reason = "never applies to this operation" if cell.state == "n/a" else "no answer this check applies to"
                ET.SubElement(case, "skipped", message=reason)
                continue
            mine = [r for r in problems if r["operation"] == operation and r["check"] == check_id]
            if not mine:
                continue
            text = "\n\n".join(
                f"case: {r['case']['category']}: {r['case']['description']}\nexpected: {r['expected']}\n"
                f"actual: {r['actual']['status'] if r['actual'] else '-'} {r['message']}\nreproduce: {r['curl']}"
                for r in mine[:MAX_MESSAGES])
            if REGISTRY[check_id].severity == "warning":
                ET.SubElement(case, "system-out").text = text
            else:
                failure = ET.SubElement(case, "failure", message=f"{len(mine)} of {cell.passed + cell.failed} failed: "
                                        f"{mine[0]['message']}")
                failure.text = text
    _coverage(suites, summary)
    return suites


def _coverage(suites: ET.Element, summary: Summary) -> None:
    """The coverage contract as a suite: per lane, served or not (a failure where it must be), every promised
    category judged or not (an error: the run is incomplete)."""
    lanes = summary.contract
    failures = sum(1 for lane in lanes if lane.required and lane.state == "not served")
    errors = sum(1 for lane in lanes if lane.not_judged or (lane.required and lane.state == "not probed"))
    suite = ET.SubElement(suites, "testsuite", name="coverage", tests=str(len(lanes)), failures=str(failures),
                          errors=str(errors), skipped=str(sum(1 for lane in lanes if lane.state != "served"
                                                              and not lane.required)))
    for lane in lanes:
        case = ET.SubElement(suite, "testcase", classname="coverage", name=f"{lane.operation} over {lane.protocol}")
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


def write(summary: Summary, path: Path) -> None:
    """Write the report to a file."""
    tree = ET.ElementTree(build(summary))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
