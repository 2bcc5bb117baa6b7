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
        if operation in summary.uncovered:  # after the test cases, where the JUnit schema puts it
            ET.SubElement(suite, "system-out").text = \
                f"categories the --budget left uncovered: {', '.join(summary.uncovered[operation])}"
    return suites


def write(summary: Summary, path: Path) -> None:
    """Write the report to a file."""
    tree = ET.ElementTree(build(summary))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
