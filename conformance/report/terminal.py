"""The terminal report: progress while running, then the matrix, observations and failures."""

from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
import threading
from collections import Counter
from typing import TextIO
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from conformance.engine.results import StepSequence
from conformance.engine.verdict import Verdict
from conformance.judging.check_results import Severity
from conformance.judging.checks import REGISTRY
from conformance.report import Cell, Summary
from conformance.report.causes import Answered, by_cause, case_id
from conformance.report.records import AnswerRecord, FailureRecord, case_shown, recorded_line

MAX_FAILURES_SHOWN = 20  # not-judged cases listed; failures are shown one per operation and check
MAX_CAUSES_IN_FULL = 8  # causes shown as whole blocks, failures and warnings each; the rest a line each
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
            else:  # wrapped where a width is asked for ($COLUMNS); a pipe gets it whole
                width = max(terminal_width(self.stream), MIN_WIDTH) if "COLUMNS" in os.environ else None
                self.stream.write("\n".join(fitted(f"  {message}", width)) if width else f"  {message}")
                self.stream.write("\n")
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


def write(summary: Summary, stream: TextIO | None = None, verbose: bool = False) -> None:
    """Print the matrix (operation × check), the coverage contract, observations (with `verbose`; else one line),
    notes, failures, the verdict; every line fits the terminal (but a failure's `reproduce` curl line, kept whole
    so that it can be copied), in colour on a terminal."""
    raw = stream or sys.stdout
    width = max(terminal_width(raw), MIN_WIDTH)
    # Every line printed below is wrapped to the width as it is written: on a terminal, or where $COLUMNS asks for a
    # width; a pipe or a file keeps its lines whole (a log is grepped, and its last line is the verdict).
    stream = FittedStream(raw, width if raw.isatty() or "COLUMNS" in os.environ else None)
    run = summary.run
    if summary.rerun is not None:  # first, so that a rerun is never read as a full run
        print(f"rerun of {summary.rerun.file}: {summary.rerun.cases} case(s)", file=stream)
    protocols = ", ".join(sorted({lane.protocol.name for lane in run.lanes})) or run.config.protocol
    if summary.verdict is Verdict.UNREACHABLE:  # nothing was judged: say what was tried, what came back, what to check
        _unreachable(summary, stream, protocols)
        _verdict_line(summary, raw, stream, width)
        return
    print("\n" + textwrap.fill(f"Target {run.config.target.url} over {protocols}, seed {run.config.seed}: "
                               f"{len(run.results)} cases, {run.requests_sent} requests in {run.elapsed:.1f}s"
                               + (f" (sent from {run.sender})" if run.sender else ""), width=width), file=stream)
    if run.stopped is not None:  # a run limit cut it short: said at the top, and again in the verdict
        jobs = "every started job was still stopped" if not run.jobs_left_running else "JOBS LEFT RUNNING: see below"
        print(f"STOPPED: {run.stopped.describe()} ({jobs})", file=stream)
    _matrix(summary, stream, width, raw)
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
    observed = sum(len(topics) for topics in summary.observations.values())
    if verbose:
        for operation, topics in summary.observations.items():
            for topic, choices in topics.items():
                chosen = ", ".join(f"{choice} ({count})" for choice, count in choices.most_common())
                print(f"observed: {operation}: {topic}: {chosen}", file=stream)
    elif observed:  # one line: the choices are listed with --verbose, and always in --report-json
        print(f"observed: {observed} choice(s) the target made where AWS allows several, over "
              f"{len(summary.observations)} operation(s) (--verbose lists them; all are in --report-json)",
              file=stream)
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
        causes = by_cause(records)
        for index, cause in enumerate(causes):
            # One block per cause: its shown answer once, naming every check that answer failed; past the first
            # few, one line each (the first line of a block), so that a target that fails everywhere still reads
            # at a glance: every cause is whole in --report-html and --report-json.
            shown = cause.shown
            first = shown.first
            if index >= MAX_CAUSES_IN_FULL:
                if index == MAX_CAUSES_IN_FULL:
                    print(f"\n{len(causes) - index} more cause(s), a line each (whole in --report-html and "
                          "--report-json; --rerun REPORT --case ID replays one):", file=stream)
                label = "WARNING" if first.severity is Severity.WARNING else "FAILED"
                print(f"{label} {', '.join(shown.checks)} on {first.operation} [{shown.case_id}]: {first.message} "
                      f"({len(cause.answers)} case(s))", file=stream)
                continue
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
    _verdict_line(summary, raw, stream, width)


def _verdict_line(summary: Summary, raw: TextIO, stream: TextIO, width: int) -> None:
    """The verdict and its first reason, wrapped to the width: in colour on a terminal, plain otherwise."""
    verdict = VERDICT_LINE[summary.verdict]
    reason = summary.decision.reasons[0] if summary.decision.reasons else ""
    more = f" (and {len(summary.decision.reasons) - 1} more)" if len(summary.decision.reasons) > 1 else ""
    extra = f", {len(summary.warnings)} warning(s)" if summary.warnings else ""
    judgement = summary.decision.baseline
    if judgement is not None and "of the baseline" not in reason:  # the line always says what the baseline accepted
        extra += f"; {judgement.accepted_failures} accepted failure(s) of the baseline"
    line = f"{verdict}" + (f": {reason}{more}" if reason else "") + extra
    if raw.isatty():  # colour only on a terminal; a log gets plain text
        colour = "green" if summary.verdict is Verdict.CONFORMS else "yellow" if summary.verdict in (
            Verdict.INCOMPLETE, Verdict.INTERRUPTED) else "red"
        stream.flush()
        console = Console(file=raw, highlight=False, soft_wrap=True)  # soft_wrap: the lines are wrapped here
        parts = fitted(line, width) if isinstance(stream, FittedStream) and stream.width else [line]
        console.print("\n" + "\n".join(f"[bold {colour}]{escape(part)}[/]" for part in parts))
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


def _matrix(summary: Summary, stream: TextIO, width: int, raw: TextIO | None = None) -> None:
    """Operation × check, one table per protocol; where that is wider than the terminal, one compact table of lane
    codes × check codes (`_compact_matrix`). FAILED cells in red on a terminal."""
    raw = raw or stream
    first = max(len(check_id) for check_id in REGISTRY) + 2
    groups: dict[str, list[str]] = {}
    for label in summary.operations:
        groups.setdefault(label.partition(" over ")[2], []).append(label)
    columns_of = {protocol: [max(len(label.partition(" over ")[0]), 16) + 2 for label in labels]
                  for protocol, labels in groups.items()}
    if any(first + sum(columns) > width for columns in columns_of.values()):
        _compact_matrix(summary, stream, width, raw)
        return
    for protocol, labels in groups.items():
        names = [label.partition(" over ")[0] for label in labels]
        columns = columns_of[protocol]
        print("\n" + f"over {protocol}".ljust(first) + "".join(n.ljust(w) for n, w in zip(names, columns, strict=True)),
              file=stream)
        for check_id in _rows(summary):
            cells = [(_cell(summary, label, check_id).ljust(column), _style(summary, label, check_id))
                     for label, column in zip(labels, columns, strict=True)]
            _emit([(check_id.ljust(first), None), *cells], stream, raw)


# The compact matrix's cells: what each state is shown as (a failed or warned cell adds its count).
COMPACT_CELL = {"passed": "ok", "n/a": "-", "skipped": "."}
PROTOCOL_CODES = {"awsJson1_1": "json", "rpcv2Cbor": "cbor"}
VERB_CODES = {"Describe": "Desc", "Stop": "Stop", "Start": "Start", "List": "List"}


def _compact_matrix(summary: Summary, stream: TextIO, width: int, raw: TextIO) -> None:
    """Lane × check as codes (a lane per row, `PiiStop/json`; a check per column, `ans`), in as many tables as the
    width needs, with a legend of the codes below: a table people can scan at 80 columns."""
    labels = summary.operations
    lanes = lane_codes(labels)
    checks = check_codes(_rows(summary))
    cells = {label: {check_id: _compact_cell(summary, label, check_id) for check_id in checks} for label in labels}
    first = max((len(code) for code in lanes.values()), default=4) + 1
    columns = {check_id: max([len(code), *(len(cells[label][check_id][0]) for label in labels)]) + 1
               for check_id, code in checks.items()}
    chunks: list[list[str]] = [[]]
    for check_id in checks:  # as many checks per table as the width takes
        # A row's last blank is dropped (`_emit` strips it): a column fits where all but its blank does.
        if chunks[-1] and first + sum(columns[c] for c in chunks[-1]) + columns[check_id] - 1 > width:
            chunks.append([])
        chunks[-1].append(check_id)
    for chunk in chunks:
        print("\n" + "lane".ljust(first) + "".join(checks[c].ljust(columns[c]) for c in chunk).rstrip(), file=stream)
        for label in labels:
            row = [(cells[label][c][0].ljust(columns[c]), cells[label][c][1]) for c in chunk]
            _emit([(lanes[label].ljust(first), None), *row], stream, raw)
    operations = {code.partition("/")[0]: label.partition(" over ")[0] for label, code in lanes.items()}
    protocols = {code.partition("/")[2]: label.partition(" over ")[2] for label, code in lanes.items()}
    print("lanes: " + "; ".join(f"{code} {operation}" for code, operation in operations.items()) + "; over "
          + ", ".join(f"/{code} {protocol}" for code, protocol in protocols.items()), file=stream)
    print("checks: " + "; ".join(f"{code} {check_id}" for check_id, code in checks.items()), file=stream)
    print("cells: ok passed; F3 FAILED 3 answers; W3 warned on 3; - never applies; . nothing it applied to "
          "(counts: --report-json)", file=stream)


def _compact_cell(summary: Summary, label: str, check_id: str) -> tuple[str, str | None]:
    """A compact cell's text and style (None: plain)."""
    cell = summary.matrix[label].get(check_id, Cell(applies=False))
    if cell.state == "failed":
        warned = REGISTRY[check_id].severity is Severity.WARNING
        return (f"W{cell.failed}", "yellow") if warned else (f"F{cell.failed}", "bold red")
    return COMPACT_CELL.get(cell.state, cell.state), None


def _style(summary: Summary, label: str, check_id: str) -> str | None:
    """A full matrix cell's style: red where it FAILED, yellow where it warned."""
    cell = summary.matrix[label].get(check_id, Cell(applies=False))
    if cell.state != "failed":
        return None
    return "yellow" if REGISTRY[check_id].severity is Severity.WARNING else "bold red"


def _emit(segments: list[tuple[str, str | None]], stream: TextIO, raw: TextIO) -> None:
    """One line of styled segments: rich markup on a terminal, plain text otherwise (trailing blanks dropped)."""
    line = "".join(text for text, _ in segments).rstrip()
    if not raw.isatty() or not any(style for _, style in segments):
        print(line, file=stream)
        return
    stream.flush()
    text = Text()
    for part, style in segments:
        text.append(part, style=style or "")
    text.rstrip()
    Console(file=raw, highlight=False, soft_wrap=True).print(text)


def lane_codes(labels: list[str]) -> dict[str, str]:
    """A short code per lane label (`StopPiiEntitiesDetectionJob over awsJson1_1` -> `PiiStop/json`): the first word
    of what the operation acts on, its verb, the protocol; longer only for the lanes whose codes would be the same."""
    codes = {label: _lane_code(label, 1) for label in labels}
    for words in (2, 9):
        shared = {label for label, code in codes.items() if list(codes.values()).count(code) > 1}
        codes.update({label: _lane_code(label, words) for label in shared})
    if len(set(codes.values())) < len(codes):  # still the same: the labels themselves
        return {label: label for label in labels}
    return codes


def _lane_code(label: str, words: int) -> str:
    operation, _, protocol = label.partition(" over ")
    verb = next((verb for verb in VERB_CODES if operation.startswith(verb)), "")
    tokens = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\d|$)|[A-Z][a-z]*|\d+", operation[len(verb):]) or [operation]
    noun = "".join(token.capitalize() for token in tokens[:words])[:5 * words]
    return f"{noun}{VERB_CODES.get(verb, verb)}/{PROTOCOL_CODES.get(protocol, protocol)}"


def check_codes(check_ids: list[str]) -> dict[str, str]:
    """A short code per check id, unique among them: the initials of its words (`no_server_error` -> `nse`), three
    letters of a one-word id (`answered` -> `ans`), longer where two would be the same."""
    codes: dict[str, str] = {}
    for check_id in check_ids:
        words = check_id.split("_")
        tries = ["".join(w[0] for w in words) if len(words) > 1 else check_id[:3],
                 words[0][:2] + "".join(w[0] for w in words[1:]), check_id[:4], check_id]
        codes[check_id] = next(code for code in tries if code not in codes.values())
    return codes


MIN_WIDTH = 40  # narrower than this, lines are wrapped at 40 all the same


def terminal_width(stream: TextIO | None = None) -> int:
    """The width to fit: $COLUMNS where set, else the terminal's the report is written to; 120 for a pipe or a file
    (a log is not wrapped to whatever terminal started the process)."""
    if "COLUMNS" in os.environ or stream is None:
        return shutil.get_terminal_size((120, 24)).columns
    try:
        return os.get_terminal_size(stream.fileno()).columns or 120 if stream.isatty() else 120
    except (AttributeError, OSError, ValueError):  # a stream with no file descriptor (a StringIO, pytest's capture)
        return 120


def is_reproduction(line: str) -> bool:
    """Whether a line is a failure's curl reproduction (`  reproduce: curl ...`, `  reproduce minimal: printf ... |
    curl ...`): the one kind of line left longer than the terminal, whole, so that it can be copied and run."""
    label, _, command = line.strip().partition(": ")
    return label in ("reproduce", "reproduce minimal") and "curl " in command


def fitted(line: str, width: int) -> list[str]:
    """A line wrapped to `width`: continuation lines indented two more than the line (a reproduction stays whole)."""
    if len(line) <= width or is_reproduction(line):
        return [line]
    indent = " " * min(len(line) - len(line.lstrip(" ")) + 2, width // 2)
    return textwrap.wrap(line, width=width, subsequent_indent=indent, break_on_hyphens=False) or [line]


class FittedStream:
    """A text stream that wraps each line written to it to `width` (see `fitted`) before passing it on."""

    def __init__(self, stream: TextIO, width: int | None) -> None:
        self.stream, self.width = stream, width  # width None: lines pass unchanged
        self._pending = ""

    def write(self, text: str) -> int:
        """Pass on every whole line, wrapped; keep a partial one until its end comes."""
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.stream.write(("\n".join(fitted(line, self.width)) if self.width else line) + "\n")
        return len(text)

    def flush(self) -> None:
        """Pass on a partial line too."""
        if self._pending:
            self.stream.write("\n".join(fitted(self._pending, self.width)) if self.width else self._pending)
            self._pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        """Whether the stream underneath is a terminal."""
        return self.stream.isatty()


def _unreachable(summary: Summary, stream: TextIO, protocols: str) -> None:
    """A target that answered nothing, in a few lines: what was tried, what came back, what to check."""
    run = summary.run
    url = run.config.target.url
    sent = [result for result in run.results if result.judged]
    urls = {url.rstrip("/") + result.request.path: result for result in sent}
    # What came back, once per kind: each message without the URL it names (the URLs are counted above it).
    said = sorted({verdict.message.replace(address, "the target").strip() for address, result in urls.items()
                   for verdict in result.failures().values()})
    print(f"\nTarget {url} (seed {run.config.seed}): no answer in {run.elapsed:.1f}s", file=stream)
    print(f"tried: {len(sent)} probe case(s), one per lane ({protocols}), at {len(urls)} URL(s) of {url}",
          file=stream)
    for message in said[:2]:
        print(f"came back: {message}", file=stream)
    host = urlsplit(url)
    print(f"check: is a server listening at {host.hostname}:{host.port or (443 if host.scheme == 'https' else 80)}? "
          "Is --endpoint-url right (scheme, host, port)? Does a firewall or proxy stand between?", file=stream)
    print("nothing was judged: the matrix, coverage and failures are in --report-json", file=stream)


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
