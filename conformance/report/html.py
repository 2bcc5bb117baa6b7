"""The HTML report: one self-contained file (inline CSS and JS, nothing fetched) to open in a browser.

It shows the verdict and its reasons, the coverage contract, the check × lane matrix in colour, and the failures
grouped by cause (`causes.by_cause`), each with its request and answer side by side, bodies decoded (JSON
pretty-printed, CBOR in diagnostic notation), the curl reproduction with a copy button, and where present the
minimal example, the usual-spelling twin, the state machine's steps, the recorded answer and the baseline's word.
Filters by check and by lane run in the page's script, also from the URL fragment (`#check=status_code&lane=...`).

Everything a target supplied is escaped (`html.escape`), and the page's Content-Security-Policy allows no source
but its own script (by hash) and style: a body holding markup can neither render nor run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from pathlib import Path

from conformance.judging.check_results import Severity
from conformance.judging.checks import REGISTRY
from conformance.report import Summary
from conformance.report.causes import Cause, by_cause, case_id
from conformance.report.records import AnswerRecord, Body, FailureRecord, RequestRecord, case_shown, recorded_line

MAX_CAUSES = 200  # causes shown per section; the JSON report holds every failure
MAX_CASE_IDS = 40  # case IDs listed per cause

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:.6em;overflow:auto;white-space:pre-wrap;word-break:break-all;
max-height:28em;margin:.3em 0}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;
vertical-align:top}
.verdict{display:inline-block;padding:.2em .7em;border-radius:4px;color:#fff;font-weight:600}
.v-conforms{background:#1a7f37}.v-other{background:#cf222e}
td.passed{background:#2da44e;color:#fff}td.failed{background:#cf222e;color:#fff}td.warned{background:#d4a72c}
td.skipped,td.na{background:#d0d7de;color:#57606a}
.matrix td{text-align:center;min-width:3.2em}.matrix th.check{writing-mode:vertical-rl;transform:rotate(180deg)}
.cause{border:1px solid #d0d7de;border-left:5px solid #cf222e;border-radius:4px;padding:.3em 1em;margin:1em 0}
.cause.warning{border-left-color:#d4a72c}.cause.not-judged{border-left-color:#8c959f}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}.pair>div{min-width:0}
.badge{display:inline-block;border-radius:3px;padding:0 .4em;font-size:12px;background:#eaeef2;margin-right:.3em}
.badge.accepted{background:#ddf4ff}.badge.new{background:#ffebe9}
.filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}
button.copy{float:right;font-size:12px}
[hidden]{display:none!important}.scroll{overflow-x:auto}
"""

# The filters: read from and written to the URL fragment, so that a filtered view is a link that works offline.
_SCRIPT = """
(function () {
  "use strict";
  var check = document.getElementById("filter-check"), lane = document.getElementById("filter-lane");
  function wanted() {
    var found = {check: "", lane: ""};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) { found[decodeURIComponent(part.slice(0, at))] = decodeURIComponent(part.slice(at + 1)); }
    });
    return found;
  }
  function apply(chosen) {
    check.value = chosen.check; lane.value = chosen.lane;
    if (check.value !== chosen.check) { check.value = ""; }
    if (lane.value !== chosen.lane) { lane.value = ""; }
    var shown = 0;
    document.querySelectorAll("[data-checks]").forEach(function (block) {
      var checks = block.getAttribute("data-checks").split(" ");
      var ok = (!check.value || checks.indexOf(check.value) >= 0) &&
               (!lane.value || block.getAttribute("data-lane") === lane.value);
      block.hidden = !ok;
      if (ok) { shown += 1; }
    });
    document.querySelectorAll("[data-column]").forEach(function (cell) {
      cell.hidden = !!check.value && cell.getAttribute("data-column") !== check.value;
    });
    document.querySelectorAll("tr[data-row]").forEach(function (row) {
      row.hidden = !!lane.value && row.getAttribute("data-row") !== lane.value;
    });
    document.getElementById("filter-count").textContent = shown + " block(s) shown";
    document.body.setAttribute("data-filtered", check.value + "|" + lane.value);
  }
  function changed() {
    var parts = [];
    if (check.value) { parts.push("check=" + encodeURIComponent(check.value)); }
    if (lane.value) { parts.push("lane=" + encodeURIComponent(lane.value)); }
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
    apply({check: check.value, lane: lane.value});
  }
  check.addEventListener("change", changed);
  lane.addEventListener("change", changed);
  window.addEventListener("hashchange", function () { apply(wanted()); });
  document.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-for")).textContent;
      function done() { button.textContent = "copied"; }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(text); done(); });
      } else { select(text); done(); }
    });
  });
  function select(text) {  // file:// is not a secure context everywhere: the old way, through a selection
    var area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing to copy with */ }
    document.body.removeChild(area);
  }
  apply(wanted());
})();
"""


def _e(value: object) -> str:
    """Any value as HTML text, quotes included (fit for attributes too)."""
    return escape(str(value), quote=True)


def build(summary: Summary) -> str:
    """The report as one HTML document."""
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    run = summary.run
    verdict = summary.verdict.value
    lanes = list(summary.matrix)
    checks = sorted({check for cells in summary.matrix.values() for check in cells})
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        # Nothing is fetched: no source is allowed but the inline style and this very script.
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Conformance: {_e(verdict)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Conformance <span class=\"verdict {'v-conforms' if summary.conforms else 'v-other'}\" id=\"verdict\">"
        f"{_e(verdict)}</span></h1>",
        f"<p>{len(run.results)} cases, {len(summary.failures)} failures, {len(summary.warnings)} warnings, "
        f"{run.requests_sent} requests in {run.elapsed:.1f} s against {_e(run.config.target.name)} "
        f"(seed {_e(run.config.seed)}).</p>",
    ]
    if summary.decision.reasons:
        parts.append('<ul id="reasons">' + "".join(f"<li>{_e(r)}</li>" for r in summary.decision.reasons) + "</ul>")
    parts += _filters(checks, lanes) + _matrix(summary, checks) + _coverage(summary) + _baseline(summary)
    failures = [record for record in summary.failures if not record.accepted]
    accepted = [record for record in summary.failures if record.accepted]
    parts += _section("failures", "New failures" if summary.decision.baseline else "Failures", failures, "failure")
    parts += _section("accepted", "Accepted by the baseline", accepted, "failure")
    parts += _section("warnings", "Warnings", summary.warnings, "warning")
    parts += _section("not-judged", "Not judged", summary.not_judged, "not-judged")
    if summary.reproduce_note:
        parts.append(f"<p><em>{_e(summary.reproduce_note)}</em></p>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _filters(checks: list[str], lanes: list[str]) -> list[str]:
    def options(values: list[str], every: str) -> str:
        return f'<option value="">{every}</option>' + "".join(f'<option value="{_e(v)}">{_e(v)}</option>'
                                                               for v in values)
    return ['<div class="filters">Filter: <label>check <select id="filter-check">'
            f"{options(checks, 'every check')}</select></label> <label>lane <select id=\"filter-lane\">"
            f"{options(lanes, 'every lane')}</select></label> <span id=\"filter-count\"></span></div>"]


def _coverage(summary: Summary) -> list[str]:
    rows = "".join(
        f"<tr data-row=\"{_e(lane.operation + ' over ' + lane.protocol)}\"><td>{_e(lane.operation)} over "
        f"{_e(lane.protocol)}</td><td>{_e(lane.state)}</td><td>{'must be served' if lane.required else 'optional'}"
        f"</td><td><details><summary>{len(lane.judged)} categories</summary>{_e(', '.join(lane.judged))}</details></td>"
        f"<td class=\"{'failed' if lane.not_judged else ''}\">{_e(', '.join(lane.not_judged)) or '-'}</td></tr>"
        for lane in summary.contract)
    notes = "".join(f"<li>{_e(note)}</li>" for note in summary.notes)
    return ['<h2 id="coverage">Coverage</h2><table><tr><th>Lane</th><th>State</th><th>Served</th>'
            f"<th>Categories judged</th><th>Promised, not judged</th></tr>{rows}</table>"
            + (f"<ul class=\"notes\">{notes}</ul>" if notes else "")]


def _matrix(summary: Summary, checks: list[str]) -> list[str]:
    head = "".join(f'<th class="check" data-column="{_e(c)}">{_e(c)}</th>' for c in checks)
    rows = []
    for lane, cells in summary.matrix.items():
        tds = []
        for check in checks:
            cell = cells.get(check)
            state = "na" if cell is None or cell.state == "n/a" else cell.state
            if state == "failed" and REGISTRY.get(check) is not None and REGISTRY[check].severity is Severity.WARNING:
                state = "warned"
            counts = "" if cell is None else f"{cell.passed} passed, {cell.failed} failed, {cell.not_applicable} n/a"
            label = {"passed": "✓", "failed": "✗", "warned": "!", "skipped": "–", "na": ""}[state]
            tds.append(f'<td class="{state}" data-column="{_e(check)}" title="{_e(check)}: {state}; {_e(counts)}">'
                       f"{label}</td>")
        rows.append(f'<tr data-row="{_e(lane)}"><th>{_e(lane)}</th>{"".join(tds)}</tr>')
    return ['<h2 id="matrix">Checks × lanes</h2><div class="scroll"><table class="matrix"><tr><th>lane</th>' + head
            + "</tr>" + "".join(rows) + "</table></div><p><span class=\"badge\">✓ passed</span><span class=\"badge\">✗ failed</span>"
            "<span class=\"badge\">! warned</span><span class=\"badge\">– skipped</span> blank: does not apply</p>"]


def _baseline(summary: Summary) -> list[str]:
    judgement = summary.decision.baseline
    if judgement is None:
        return []
    rows = "".join(f'<tr><td><span class="badge {state.split(":")[0]}">{state}</span></td><td>{_e(e.check)}</td>'
                   f"<td>{_e(e.operation)}</td><td>{_e(e.protocol)}</td><td>{_e(e.category)}</td><td>{_e(e.cause)}</td>"
                   "</tr>"
                   for state, entries in (("new", judgement.new), ("fixed: remove it", judgement.fixed),
                                          ("accepted", judgement.accepted)) for e in entries)
    return [f'<h2 id="baseline">Baseline</h2><p><code>{_e(judgement.file)}</code>: {judgement.accepted_failures} '
            f"accepted failures, {judgement.new_failures} new, {len(judgement.fixed)} fixed entries, "
            f"{len(judgement.not_tested)} not tested.</p><table><tr><th>State</th><th>Check</th><th>Operation</th>"
            f"<th>Protocol</th><th>Category</th><th>Answer</th></tr>{rows}</table>"]


def _section(anchor: str, title: str, records: list[FailureRecord], kind: str) -> list[str]:
    if not records:
        return []
    causes = by_cause(records)
    parts = [f'<h2 id="{anchor}">{_e(title)}: {len(records)} in {len(causes)} cause(s)</h2>']
    parts += [_cause(cause, kind, f"{anchor}-{index}") for index, cause in enumerate(causes[:MAX_CAUSES])]
    if len(causes) > MAX_CAUSES:
        parts.append(f"<p>{len(causes) - MAX_CAUSES} more cause(s): see the JSON report.</p>")
    return parts


def _cause(cause: Cause, kind: str, anchor: str) -> str:
    """One cause: what it is, its checks and cases, and its first failure in full."""
    first = cause.first
    checks = [check for check in cause.checks if check != "None"] or ["-"]
    answered = f"{first.actual.status} {first.actual.error_type or ''}".strip() if first.actual else "no answer"
    ids = cause.case_ids
    listed = ", ".join(ids[:MAX_CASE_IDS]) + (f" and {len(ids) - MAX_CASE_IDS} more" if len(ids) > MAX_CASE_IDS else "")
    accepted = "" if first.accepted is None else (
        '<span class="badge accepted">accepted by the baseline</span>' if first.accepted
        else '<span class="badge new">new: no baseline entry accepts it</span>')
    parts = [f'<section class="cause {kind}" id="{anchor}" data-checks="{_e(" ".join(checks))}" '
             f'data-lane="{_e(first.operation)}">',
             f"<h3>{_e(first.operation)}: {_e(answered)} {accepted}</h3>",
             f"<p>checks: {' '.join(f'<code>{_e(c)}</code>' for c in checks)}; {len(cause.records)} failure(s), "
             f"categories: {_e(', '.join(cause.categories))}; case IDs: <code>{_e(listed)}</code></p>",
             f"<p><strong>{_e(first.check or 'not judged')}</strong> (case <code>{_e(case_id(first))}</code>, "
             f"{_e(first.category)}: {_e(first.case.get('description', ''))}): {_e(first.message)}</p>",
             f"<p>expected: {_e(first.expected)}</p>",
             _pair("request", first.request, "answer", first.actual)]
    if first.usual is not None:
        spelled = first.case.get("spelling", "another spelling")
        parts += [f"<h4>The same case in the usual spelling (this one: {_e(spelled)})</h4>",
                  _pair("usual request", first.usual.request, "usual answer", first.usual.actual)]
    if first.recorded is not None:
        parts.append(f"<h4>Recorded answer</h4><pre>{_e(recorded_line(first.recorded))}</pre>")
    if first.sequence is not None:
        parts.append(f"<h4>{_e(first.steps_heading())}</h4><pre>{_e(chr(10).join(first.sequence.steps))}</pre>")
    parts.append(_copyable(f"{anchor}-curl", "Reproduce", first.curl))
    minimal = first.minimal
    if minimal is not None:
        bound = "" if minimal.finished else "; a bound stopped the shrink, a smaller one may fail too"
        parts += [f"<h4>Minimal example (shrunk against the target in {minimal.tries} request(s){bound})</h4>",
                  f"<p><code>{_e(case_shown(minimal.case))}</code>: {_e(minimal.message)}</p>",
                  _pair("minimal request", minimal.request, "minimal answer", minimal.actual),
                  _copyable(f"{anchor}-minimal", "Reproduce the minimal example", minimal.curl)]
    return "\n".join(parts) + "</section>"


def _pair(left: str, request: RequestRecord, right: str, answer: AnswerRecord | None) -> str:
    """A request and its answer side by side."""
    sent = (f"<div><h4>{_e(left)}</h4><pre>{_e(request.method)} {_e(request.url)}\n"
            + "".join(f"{_e(name)}: {_e(value)}\n" for name, value in request.headers.items())
            + f"</pre>{_body(request.body)}</div>")
    if answer is None:
        got = f"<div><h4>{_e(right)}</h4><p>no answer</p></div>"
    else:
        got = (f"<div><h4>{_e(right)}</h4><pre>{answer.status} {_e(answer.error_type or '')}\n"
               + "".join(f"{_e(name)}: {_e(value)}\n" for name, value in answer.headers.items())
               + f"</pre>{_body(answer.body)}</div>")
    return f'<div class="pair">{sent}{got}</div>'


def _body(body: Body) -> str:
    """A body decoded: JSON pretty-printed, CBOR in diagnostic notation beside its base64, else its text."""
    cut = f" (the first {len(body.text or body.base64 or '')} characters of {body.length} bytes)" if body.truncated \
        else ""
    parts = []
    if body.diagnostic is not None:
        parts.append(f'<p>body, CBOR in diagnostic notation{cut}:</p><pre class="diagnostic">{_e(body.diagnostic)}'
                     "</pre>")
    if body.text is not None:
        parts.append(f'<p>body{cut}:</p><pre class="body">{_e(_pretty(body.text))}</pre>')
    else:
        parts.append(f'<p>body (base64){cut}:</p><pre class="base64">{_e(body.base64 or "")}</pre>')
    return "".join(parts) if body.length else "<p>empty body</p>"


def _pretty(text: str) -> str:
    """JSON pretty-printed, any other text as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def _copyable(element_id: str, title: str, text: str) -> str:
    return (f'<h4>{_e(title)} <button class="copy" type="button" data-for="{_e(element_id)}">copy</button></h4>'
            f'<pre id="{_e(element_id)}">{_e(text)}</pre>')


def write(summary: Summary, path: Path) -> None:
    """Write the HTML report."""
    path.write_text(build(summary), encoding="utf-8", errors="backslashreplace")
