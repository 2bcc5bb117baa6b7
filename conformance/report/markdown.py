"""The Markdown summary, for a CI job page ($GITHUB_STEP_SUMMARY): verdict, coverage per lane, failures by check."""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from conformance.report import Summary
from conformance.report.causes import by_cause
from conformance.report.records import AnswerRecord, FailureRecord, case_shown

MAX_BYTES = 60_000  # GitHub takes up to 1 MiB per step summary; a page this long is already too long to read
MAX_CHECKS = 30  # failure groups shown
MAX_REPRO = 1_500  # characters of one reproduction
MAX_CELL = 300  # characters of one cell or line
MAX_IDS = 10  # case IDs listed per cause (all are in the JSON report)


def build(summary: Summary) -> str:
    """The summary as Markdown, at most MAX_BYTES long."""
    run = summary.run
    lines = [f"## Conformance: `{summary.verdict.value}`", "",
             (f"{len(run.results)} cases, {len(summary.failures)} failures, {len(summary.warnings)} warnings, "
              f"{run.requests_sent} requests in {run.elapsed:.1f} s (seed {run.config.seed})."), ""]
    lines += [f"- {_cell(reason)}" for reason in summary.decision.reasons] + [""] * bool(summary.decision.reasons)
    lines += ["### Coverage", "", "| Lane | State | Must be served | Judged | Not judged |", "|---|---|---|---|---|"]
    lines += [f"| {lane.operation} over {lane.protocol} | {lane.state} | {'yes' if lane.required else 'no'} | "
              f"{len(lane.judged)} | {_cell(', '.join(lane.not_judged)) or '-'} |" for lane in summary.contract]
    lines += [""] + [f"> {_cell(note)}" for note in summary.notes] + [""] * bool(summary.notes)
    lines += _baseline(summary)
    failures = [record for record in summary.failures if not record.accepted]  # accepted ones: in the table above
    for title, records in (("New failures" if summary.decision.baseline else "Failures", failures),
                           ("Warnings", summary.warnings)):
        lines += _grouped(title, records)
    text = "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) > MAX_BYTES:  # cut at a line, and say so
        kept = text.encode("utf-8")[:MAX_BYTES].decode("utf-8", "ignore").rsplit("\n", 1)[0]
        text = kept + "\n\n_(cut: the JSON report holds everything)_\n"
    return text


def _baseline(summary: Summary) -> list[str]:
    """With --baseline: one table of its causes, accepted, new and fixed apart; nothing without one."""
    judgement = summary.decision.baseline
    if judgement is None:
        return []
    lines = ["### Baseline", "",
             f"`{_cell(judgement.file)}`: {judgement.accepted_failures} accepted failures, {judgement.new_failures} "
             f"new, {len(judgement.fixed)} fixed entries, {len(judgement.not_tested)} not tested.", "",
             "| State | Check | Operation | Protocol | Category | Answer |", "|---|---|---|---|---|---|"]
    for state, entries in (("new", judgement.new), ("fixed: remove it", judgement.fixed),
                           ("accepted", judgement.accepted)):
        lines += [f"| {state} | `{_cell(e.check)}` | {_cell(e.operation)} | {_cell(e.protocol)} | {_cell(e.category)} "
                  f"| {_cell(e.cause)} |" for e in entries]
    return lines + [""]


def _grouped(title: str, records: list[FailureRecord]) -> list[str]:
    """Records grouped by check, with counts and one reproduction per check."""
    if not records:
        return []
    by_check: dict[str, list[FailureRecord]] = defaultdict(list)
    for record in records:
        by_check[record.check or "-"].append(record)
    lines = [f"### {title}", "", "| Check | Count | Lanes |", "|---|---|---|"]
    lines += [f"| `{check}` | {len(mine)} | {_cell(', '.join(sorted({r.operation for r in mine})))} |"
              for check, mine in list(by_check.items())[:MAX_CHECKS]]
    lines.append("")
    for cause in by_cause(records)[:MAX_CHECKS]:  # one block per cause: its shown answer, every check it failed
        answer, mine = cause.shown, cause.records
        first = answer.first
        repro = clip_words(first.curl, MAX_REPRO)
        checks = ", ".join(f"<code>{check}</code>" for check in answer.checks)
        ids = " ".join(f"`{found}`" for found in cause.case_ids[:MAX_IDS])
        more = f" and {len(cause.case_ids) - MAX_IDS} more" if len(cause.case_ids) > MAX_IDS else ""
        lines += [(f"<details><summary>[{answer.case_id}] {checks} on {first.operation}: {_cell(first.message)}"
                   "</summary>"), "",
                  *[f"- `{check}`: {_cell(message)}" for check, message in answer.messages], "",
                  f"case: {_cell(first.category)}; expected: {_cell(first.expected)}", "",
                  f"{len(cause.answers)} case(s) of this cause ({_cell(', '.join(cause.categories))}): {ids}{more}",
                  "", *_side_by_side(first), *_diagnostics(first), *_beside_recording(first), *_minimal(mine)]
        if first.sequence is not None:
            lines += [f"{_cell(first.steps_heading())}:", "", "```text",
                      *(step.replace("```", "` ` `") for step in first.sequence.steps), "```", ""]
        lines += ["```sh", repro.replace("```", "` ` `"), "```", "", "</details>", ""]
    return lines


def _minimal(records: list[FailureRecord]) -> list[str]:
    """The smallest failing form of the first shrunk case among the records, on a line of its own."""
    shrunk = next((record for record in records if record.minimal), None)
    if shrunk is None or shrunk.minimal is None:
        return []
    minimal = shrunk.minimal
    answered = f"{minimal.actual.status} {minimal.actual.error_type or ''}".strip() if minimal.actual else "no answer"
    return [f"minimal example (shrunk against the target in {minimal.tries} requests): "
            f"`{_cell(case_shown(minimal.case))}`, answered {_cell(answered)}", ""]


def _beside_recording(record: FailureRecord) -> list[str]:
    """With `run --recording`: the recorded answer beside the actual one, as a table."""
    if record.recorded is None:
        return []
    actual = f"{record.actual.status} {record.actual.error_type or ''}" if record.actual else "no answer"
    recorded = f"{record.recorded.get('status')} {record.recorded.get('error_type') or ''}"
    return ["| | recorded | this target |", "|---|---|---|", f"| answer | {_cell(recorded)} | {_cell(actual)} |", ""]


def _diagnostics(record: FailureRecord) -> list[str]:
    """A CBOR request or answer body in diagnostic notation (RFC 8949 §8), beside the base64 the tables show."""
    bodies = (("request body", record.request.body), ("answer body", record.actual.body if record.actual else None))
    lines = []
    for name, body in bodies:
        if body is not None and body.diagnostic is not None:
            notation = body.diagnostic if len(body.diagnostic) <= MAX_REPRO else body.diagnostic[:MAX_REPRO] + " …"
            lines += [f"{name}, CBOR in diagnostic notation (base64: `{_cell(body.base64 or '-')}`):", "",
                      "```text", notation.replace("```", "` ` `"), "```", ""]
    return lines


def _side_by_side(record: FailureRecord) -> list[str]:
    """For a case in another spelling: its request and answer beside the usual spelling's, as a table."""
    if record.usual is None:
        return []
    usual, spelled = record.usual, str(record.case.get("spelling", "another spelling"))

    def answer(actual: AnswerRecord | None) -> str:
        return _cell(f"{actual.status} {actual.error_type or ''}") if actual else "no answer"
    return [f"| | usual spelling | {_cell(spelled)} |", "|---|---|---|",
            f"| request body | `{_cell(clip_words(usual.request.body.shown, 200))}` | "
            f"`{_cell(clip_words(record.request.body.shown, 200))}` |",
            f"| answer | {answer(usual.actual)} | {answer(record.actual)} |", ""]


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell or line: no pipes or line breaks, clipped at a word."""
    flat = " ".join(str(text).split())
    # Clipped before escaping, so that no cut falls inside an entity (`&am …`) or between `\\` and `|`.
    return html.escape(clip_words(flat, MAX_CELL), quote=False).replace("|", "\\|")


def clip_words(text: str, limit: int) -> str:
    """`text` whole when it has at most `limit` characters, else cut at the last word boundary within them and
    marked ` …` (a single word longer than `limit` is cut where it must be)."""
    if len(text) <= limit:
        return text
    cut = text[:limit + 1]  # one more: a space just past the limit means the limit ends a word
    at = max(cut.rfind(" "), cut.rfind("\n"))
    kept = text[:at].rstrip() if at > 0 else text[:limit]
    return kept + " …"


def write(summary: Summary, path: Path) -> None:
    """Write (append to, for $GITHUB_STEP_SUMMARY) the Markdown file."""
    with path.open("a", encoding="utf-8") as out:
        out.write(build(summary))
