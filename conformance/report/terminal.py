"""The terminal report: progress while running, then the matrix, observations and failures."""

from __future__ import annotations

import shutil
import sys
import textwrap
import threading
from collections import Counter
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from conformance.engine.results import StepSequence
from conformance.engine.verdict import Verdict
from conformance.judging.check_results import Severity
from conformance.judging.checks import REGISTRY
from conformance.report import Cell, Summary
from conformance.report.causes import Answered, by_cause, case_id
from conformance.report.records import AnswerRecord, FailureRecord, case_shown, recorded_line

MAX_FAILURES_SHOWN = 20  # not-judged cases listed; failures are shown one per operation and check
MAX_IDS_SHOWN = 6  # case IDs listed under a cause (all are in --report-json)
MAX_MESSAGE_SHOWN = 160  # characters of a further check's message under `checks:`


class ProgressPrinter:
    """Progress per lane: rich progress bars on a terminal, a plain line per quarter otherwise; and a line for
    what the run waits on once the cases are done (a job settling), so that a wait never looks like a hang."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._last_quarter: dict[str, int] = {}
        self._tasks: dict[str, TaskID] = {}
        self._bars: Progress | None = None
        if self.stream.isatty():
            self._bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(file=self.stream), transient=False)

    def __call__(self, lane: str, done: int, total: int) -> None:
        with self._lock:
            if self._bars is not None:
                if lane not in self._tasks:
                    if not self._tasks:
                        self._bars.start()
                    self._tasks[lane] = self._bars.add_task(lane, total=total)
                self._bars.update(self._tasks[lane], completed=done, total=total)
                return
            quarter = done * 4 // max(total, 1)
            if quarter != self._last_quarter.get(lane):
                self._last_quarter[lane] = quarter
                self.stream.write(f"  {lane}: {done}/{total} cases\n")
                self.stream.flush()

    def waiting(self, message: str) -> None:
        """Say what the run waits on (a bar with no end on a terminal)."""
        with self._lock:
            if self._bars is not None:
                if not self._tasks:
                    self._bars.start()
                self._tasks[message] = self._bars.add_task(message, total=None)
            else:
                self.stream.write(f"  {message}\n")
                self.stream.flush()

    def close(self) -> None:
        """Stop the live display (before the report is printed)."""
        with self._lock:
            if self._bars is not None and self._tasks:
                for task in self._tasks.values():
                    self._bars.update(task, total=self._bars.tasks[task].completed or 1,
                                      completed=self._bars.tasks[task].completed or 1)
                self._bars.stop()


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
    if summary.rerun is not None:  # first, so that a rerun is never read as a full run
        print(f"rerun of {summary.rerun.file}: {summary.rerun.cases} case(s)", file=stream)
    protocols = ", ".join(sorted({lane.protocol.name for lane in run.lanes})) or run.config.protocol
    width = shutil.get_terminal_size((120, 24)).columns
    print("\n" + textwrap.fill(f"Target {run.config.target.url} over {protocols}, seed {run.config.seed}: "
                               f"{len(run.results)} cases, {run.requests_sent} requests in {run.elapsed:.1f}s",
                               width=max(width, 40)), file=stream)
    _matrix(summary, stream, width)
    print("\ncoverage (lanes that must be served are marked *):", file=stream)
    for lane in summary.contract:
        mark = "*" if lane.required else " "
        judged = f"{len(lane.judged)} categories judged" if lane.state == "served" else ""
        gap = f"; NOT JUDGED: {', '.join(lane.not_judged)}" if lane.not_judged else ""
        print(f" {mark} {lane.operation} over {lane.protocol}: {lane.state}"
              + (f", {judged}" if judged else "") + gap, file=stream)
    for label, tallies in summary.properties.items():  # judged of sent, for the properties tested over drawn inputs
        counted = ", ".join(f"{name} {tally.judged}/{tally.sent}" for name, tally in tallies.items() if tally.sent)
        if counted:
            print(f"judged/sent: {label}: {counted}", file=stream)
    for operation, topics in summary.observations.items():
        for topic, choices in topics.items():
            chosen = ", ".join(f"{choice} ({count})" for choice, count in choices.most_common())
            print(f"observed: {operation}: {topic}: {chosen}", file=stream)
    for note in summary.notes:
        print(textwrap.fill(f"note: {note}", width=max(width, 40), subsequent_indent="  "), file=stream)
    if run.config.budget is not None:
        print(f"budget: {run.requests_sent} of {run.config.budget} requests sent; {summary.not_sent} planned case(s) "
              "not sent", file=stream)
    if run.jobs_started:
        print(f"jobs: started {len(run.jobs_started)}, left running {len(run.jobs_left_running)}", file=stream)
    for record in summary.not_judged[:MAX_FAILURES_SHOWN]:
        print(f"not judged: {record.operation} {record.category}: {record.message}", file=stream)
    if summary.reproduce_note and (summary.failures or summary.warnings):
        print(f"\nnote: {summary.reproduce_note}", file=stream)
    steps_shown: set[StepSequence] = set()  # a step list is shown once, with the first of its step's failures
    for records in ([record for record in summary.failures if not record.accepted], summary.warnings):
        for cause in by_cause(records):
            # One block per cause: its shown answer once, naming every check that answer failed.
            shown = cause.shown
            first = shown.first
            write_failure(first, stream, show_steps=first.sequence not in steps_shown, answer=shown)
            if first.sequence is not None:
                steps_shown.add(first.sequence)
            if len(cause.answers) > 1 or len(cause.checks) > len(shown.checks):
                categories = cause.categories
                listed = ", ".join(categories[:6]) + (", ..." if len(categories) > 6 else "")
                ids = cause.case_ids
                named = " ".join(f"[{found}]" for found in ids[:MAX_IDS_SHOWN]) + (" ..." if len(ids) > MAX_IDS_SHOWN
                                                                                   else "")
                answer = first.actual
                said = f"{answer.status} {answer.error_type or ''}".strip() if answer else "no answer"
                print(f"  ... {len(cause.answers)} case(s) ({listed}) got this kind of answer ({said}), failing "
                      f"{', '.join(cause.checks)}: {named}; all are in --report-json", file=stream)
    write_rerun(summary, stream)
    write_baseline(summary, stream)
    verdict = VERDICT_LINE[summary.verdict]
    reason = summary.decision.reasons[0] if summary.decision.reasons else ""
    more = f" (and {len(summary.decision.reasons) - 1} more)" if len(summary.decision.reasons) > 1 else ""
    extra = f", {len(summary.warnings)} warning(s)" if summary.warnings else ""
    judgement = summary.decision.baseline
    if judgement is not None and "of the baseline" not in reason:  # the line always says what the baseline accepted
        extra += f"; {judgement.accepted_failures} accepted failure(s) of the baseline"
    line = f"{verdict}" + (f": {reason}{more}" if reason else "") + extra
    if stream.isatty():  # colour only on a terminal; a log gets plain text
        colour = "green" if summary.verdict is Verdict.CONFORMS else "yellow" if summary.verdict in (
            Verdict.INCOMPLETE, Verdict.INTERRUPTED) else "red"
        Console(file=stream, highlight=False).print(f"\n[bold {colour}]{escape(line)}[/]")
    else:
        print(f"\n{line}", file=stream)


def write_rerun(summary: Summary, stream: TextIO) -> None:
    """With --rerun: the report's failures against this run's, by case ID and check; nothing otherwise."""
    compared = summary.rerun
    if compared is None:
        return
    print(f"\nrerun of {compared.file}: {len(compared.still_failing)} still failing, {len(compared.now_passing)} now "
          f"passing, {len(compared.new)} new", file=stream)
    for label, found in (("still failing", compared.still_failing), ("now passing", compared.now_passing),
                         ("NEW", compared.new)):
        for found_id, check in found[:MAX_FAILURES_SHOWN]:
            print(f"  {label}: [{found_id}] {check or 'not judged'}", file=stream)
        if len(found) > MAX_FAILURES_SHOWN:
            print(f"  ... and {len(found) - MAX_FAILURES_SHOWN} more (all in --report-json)", file=stream)


def write_baseline(summary: Summary, stream: TextIO) -> None:
    """With --baseline: the accepted causes (their failures are not shown one by one), the fixed entries, the new
    causes and how many entries the run did not test; nothing without a baseline."""
    judgement = summary.decision.baseline
    if judgement is None:
        return
    counts = Counter(record.check for record in summary.failures if record.accepted)
    print(f"\nbaseline {judgement.file}: {judgement.accepted_failures} accepted failure(s) of {len(judgement.accepted)} "
          f"cause(s), {judgement.new_failures} new failure(s) of {len(judgement.new)} cause(s), "
          f"{len(judgement.fixed)} fixed, {len(judgement.not_tested)} not tested", file=stream)
    for label, entries in (("NEW", judgement.new), ("fixed", judgement.fixed)):
        for entry in entries[:MAX_FAILURES_SHOWN]:  # each new cause's first failure is shown in full above
            print(f"  {label}: {entry.describe()}" + ("" if label == "NEW" else ": remove it from the baseline "
                  "(--baseline-prune)" + (" [--baseline-strict: fails the run]" if judgement.strict else "")),
                  file=stream)
        if len(entries) > MAX_FAILURES_SHOWN:
            print(f"  ... and {len(entries) - MAX_FAILURES_SHOWN} more {label.lower()} (all in --report-json)",
                  file=stream)
    if counts:  # accepted failures are not shown one by one: they are known
        shown = ", ".join(f"{check} {count}" for check, count in sorted(counts.items()))
        print(f"  accepted, by check: {shown} (each is in --report-json, marked accepted)", file=stream)


def _matrix(summary: Summary, stream: TextIO, width: int) -> None:
    """Operation × check, one table per protocol; lane by lane instead when the table is wider than the terminal."""
    first = max(len(check_id) for check_id in REGISTRY) + 2
    groups: dict[str, list[str]] = {}
    for label in summary.operations:
        groups.setdefault(label.partition(" over ")[2], []).append(label)
    for protocol, labels in groups.items():
        names = [label.partition(" over ")[0] for label in labels]
        columns = [max(len(name), 16) + 2 for name in names]
        if first + sum(columns) > width:  # sideways: a few wrapped lines per lane
            for label in labels:
                print(f"\n{label}:", file=stream)
                cells = [f"{check_id} {_cell(summary, label, check_id)}" for check_id in _rows(summary)]
                print(textwrap.fill("; ".join(cells), width=max(width, 40), initial_indent="  ",
                                    subsequent_indent="  "), file=stream)
            continue
        print("\n" + f"over {protocol}".ljust(first) + "".join(n.ljust(w) for n, w in zip(names, columns, strict=True)),
              file=stream)
        for check_id in _rows(summary):
            row = check_id.ljust(first) + "".join(_cell(summary, label, check_id).ljust(column)
                                                  for label, column in zip(labels, columns, strict=True))
            print(row.rstrip(), file=stream)


def _rows(summary: Summary) -> list[str]:
    """The matrix's checks: every registered one but an opt-in one that judged nothing (the recording's, unasked)."""
    return [check_id for check_id, check in REGISTRY.items()
            if not check.opt_in or any(check_id in cells for cells in summary.matrix.values())]


def _cell(summary: Summary, label: str, check_id: str) -> str:
    cell = summary.matrix[label].get(check_id, Cell(applies=False))
    if REGISTRY[check_id].severity is Severity.WARNING and cell.state == "failed":
        return f"warned {cell.failed}"
    return _cell_text(cell.state, cell.passed, cell.failed)


def write_failure(record: FailureRecord, stream: TextIO, show_steps: bool = True, answer: Answered | None = None) -> None:
    """Print one failure in the fixed layout (with its state-machine run's steps, unless shown already); with
    `answer`, every check that answer failed."""
    print("\n" + format_failure(record, show_steps, answer), file=stream)


def format_failure(record: FailureRecord, show_steps: bool = True, answer: Answered | None = None) -> str:
    """One failure in the fixed layout: case (with its ID), request, expected, actual, the shortest failing run of a
    state-machine step (`steps`), and how to reproduce it; with `answer`, a `checks:` line naming every check the
    answer failed and a line per further check's message."""
    request, actual = record.request, record.actual
    label = "WARNING" if record.severity is Severity.WARNING else "FAILED"
    usual = record.usual
    spelled = f" (spelled with {record.case['spelling']})" if record.case.get("spelling") else ""
    lines = [
        f"{label} {record.check} on {record.operation} [{case_id(record)}]: {record.message}",
        f"  case:      {record.category}: {record.case['description']}{spelled}",
        f"  request:   {request.method} {request.url} {_headers_line(request.headers)} body {request.body.line()}",
    ]
    if answer is not None and len(answer.checks) > 1:  # the one answer, every check it broke: no repeated block
        lines[1:1] = [f"  checks:    {', '.join(answer.checks)}"] + [
            f"             {check}: {_short(message)}" for check, message in answer.messages if check != record.check]
    if usual:  # the two requests, then the two answers, one above the other
        lines.append(f"  usually:   {usual.request.method} {usual.request.url} body {usual.request.body.line()}")
    lines.append(f"  expected:  {record.expected}")
    if actual:
        lines.append(f"  actual:    {_answer_line(actual)}")
    if usual:
        lines.append(f"  usually:   {_answer_line(usual.actual) if usual.actual else 'no answer'}")
    if record.recorded is not None:  # the recorded answer beside the actual one (`run --recording`)
        lines.append(f"  recorded:  {recorded_line(record.recorded)}")
    if record.sequence is not None:
        lines.append(f"  steps:     {record.steps_heading()}" + ("" if show_steps else ", as above"))
        lines += [f"             {step}" for step in record.sequence.steps] if show_steps else []
    lines.append(f"  reproduce: {record.curl}")
    minimal = record.minimal
    if minimal:
        bound = "" if minimal.finished else "; a bound stopped the shrink, a smaller one may fail too"
        answered = _answer_line(minimal.actual) if minimal.actual else "no answer"
        lines += [f"  minimal:   {case_shown(minimal.case)} (shrunk against the target in {minimal.tries} "
                  f"request(s){bound}): {minimal.message}",
                  f"             answered {answered}",
                  f"  reproduce minimal: {minimal.curl}"]
    return "\n".join(lines)




def _short(text: str) -> str:
    """One line of at most MAX_MESSAGE_SHOWN characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_MESSAGE_SHOWN else flat[:MAX_MESSAGE_SHOWN - 2] + " …"


def _answer_line(answer: AnswerRecord) -> str:
    return f"{answer.status} {answer.error_type or '-'} body {answer.body.line()}"


def _headers_line(headers: dict[str, str]) -> str:
    return " ".join(f"{name}: {value}" for name, value in headers.items() if name.lower() in ("x-amz-target", "content-type"))
