"""The HTML report (`--report-html`): self-contained, escaped, and working in a real headless browser."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from test_verdicts import run_against

from conformance.cli import main
from conformance.report import Summary, html
from conformance.report.causes import by_cause
from conformance.report.records import Body

HOSTILE = "</script><img src=x onerror=alert(1)><script>alert(2)</script>"
BROWSER = next((found for name in ("chromium", "chromium-browser", "google-chrome", "chrome")
                if (found := shutil.which(name))), None)
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no chromium binary on PATH (Debian: apt-get install "
                                                           "chromium): the page is not opened in a browser")


class _Elements(HTMLParser):
    """Every start tag of a page, with its attributes, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _elements(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def summary() -> Summary:
    """A run against a fault that answers HTML error pages (markup from the target), with one answer replaced by a
    hostile body."""
    pages = run_against("html_error_pages", max_examples=3)
    assert pages.failures
    first = pages.failures[0]
    assert first.actual is not None
    hostile = dataclasses.replace(first, message=HOSTILE, actual=dataclasses.replace(
        first.actual, error_type=HOSTILE, headers={"X-Evil": HOSTILE}, body=Body.of(HOSTILE.encode())))
    pages.failures[0] = hostile
    return pages


@pytest.fixture(scope="module")
def cbor_summary() -> Summary:
    """A run against a fault whose CBOR answers lack their error type."""
    found = run_against("cbor_errors_without_type", max_examples=3)
    assert found.failures
    return found


def test_the_page_is_self_contained_and_escapes_what_the_target_sent(summary: Summary) -> None:
    page = html.build(summary)
    found = _elements(page)
    tags = [tag for tag, _ in found.tags]
    assert tags.count("script") == 1 and "img" not in tags  # the hostile body rendered as text, not markup
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert not any(tag in ("link", "iframe", "object", "embed") for tag in tags)
    assert not any(name in ("src", "href") for _, attrs in found.tags for name in attrs)  # nothing fetched
    assert "http://" not in "".join(found.scripts) and "https://" not in page.split("<body>")[0]
    assert not any(name.startswith("on") for _, attrs in found.tags for name in attrs)  # no inline handler at all
    policy = next(attrs["content"] for tag, attrs in found.tags
                  if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    assert policy is not None and "default-src 'none'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1]


def test_the_page_shows_every_cause_with_its_exchange(summary: Summary, cbor_summary: Summary) -> None:
    page = html.build(summary)
    sections = [attrs for tag, attrs in _elements(page).tags if tag == "section"]
    assert len(sections) == len(by_cause(summary.failures)) + len(by_cause(summary.warnings)) \
        + len(by_cause(summary.not_judged))
    for word in ("Coverage", "Checks × lanes", 'class="failed"', 'class="passed"', 'class="pair"',
                 'class="copy"', "must be served", *summary.decision.reasons):
        assert html._e(word) in page or word in page, word
    # A JSON body pretty-printed; a CBOR answer in diagnostic notation beside its base64.
    assert re.search(r'<pre class="body">\{\n  &quot;', page)
    cbor_page = html.build(cbor_summary)
    assert '<pre class="diagnostic">{&quot;message&quot;: ' in cbor_page and 'class="base64"' in cbor_page


def test_the_report_option_writes_the_file_and_the_config_file_may_name_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.reference import ReferenceServer
    from conformance.reference.variants import build_app
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conformance.toml").write_text('report-html = "from-file.html"\n', encoding="utf-8")
    out = tmp_path / "report.html"
    with ReferenceServer(app=build_app("wrong_content_type")) as server:
        command = ["run", "--endpoint-url", server.url, "--max-examples", "1", "--operation",
                   "StopPiiEntitiesDetectionJob"]
        assert main([*command, "--report-html", str(out)]) == 1
        assert not (tmp_path / "from-file.html").exists()  # the command line wins over the file
        assert main(command) == 1
    for page in (out.read_text(encoding="utf-8"), (tmp_path / "from-file.html").read_text(encoding="utf-8")):
        assert page.startswith("<!DOCTYPE html>") and 'id="verdict">does_not_conform<' in page


def _browse(page: Path, fragment: str, profile: Path) -> tuple[str, list[str]]:
    """The DOM after the page's script ran, and the console's lines (messages and uncaught errors)."""
    assert BROWSER is not None
    done = subprocess.run([BROWSER, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}",
                           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", "--dump-dom",
                           page.as_uri() + fragment], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(profile)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


@needs_browser
def test_the_console_is_read(tmp_path: Path) -> None:
    """The way the next test reads the browser's console sees an error: its empty console means something."""
    page = tmp_path / "broken.html"
    page.write_text('<html><body><script>throw new Error("boom")</script></body></html>')
    _, console = _browse(page, "", tmp_path / "profile")
    assert any("Uncaught Error: boom" in line for line in console), console


@needs_browser
def test_the_page_renders_in_chromium_and_its_filter_works(summary: Summary, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    html.write(summary, page)
    causes = by_cause(summary.failures)
    # A check some causes fail and others do not (a cause names every check its answer failed): the filter has
    # something to show and something to hide.
    chosen = next(check for check in sorted({check for cause in causes for check in cause.checks})
                  if any(check not in cause.checks for cause in causes))

    dom, console = _browse(page, "", tmp_path / "profile")
    assert console == []  # no error, no CSP refusal (a wrong script hash would be one), no message
    sections = [attrs for tag, attrs in _elements(dom).tags if tag == "section"]
    assert sections and not any("hidden" in attrs for attrs in sections)
    assert "<img" not in dom and 'data-filtered="|"' in dom  # the script ran, and no markup of the target did

    dom, console = _browse(page, f"#check={chosen}", tmp_path / "profile")
    assert console == []
    assert f'data-filtered="{chosen}|"' in dom
    shown = [attrs for tag, attrs in _elements(dom).tags if tag == "section" and "hidden" not in attrs]
    hidden = [attrs for tag, attrs in _elements(dom).tags if tag == "section" and "hidden" in attrs]
    assert shown and hidden
    assert all(chosen in str(attrs["data-checks"]).split() for attrs in shown)
    assert not any(chosen in str(attrs["data-checks"]).split() for attrs in hidden)
    columns = [attrs for tag, attrs in _elements(dom).tags if tag in ("td", "th") and "data-column" in attrs]
    assert {attrs["data-column"] for attrs in columns if "hidden" not in attrs} == {chosen}

    lane = causes[-1].first.operation
    dom, console = _browse(page, f"#lane={quote(lane)}", tmp_path / "profile")
    assert console == [] and f'data-filtered="|{lane}"' in dom
    tags = _elements(dom).tags
    shown = [attrs for tag, attrs in tags if tag == "section" and "hidden" not in attrs]
    assert shown and all(attrs["data-lane"] == lane for attrs in shown)
    assert len(shown) < len([tag for tag, _ in tags if tag == "section"])
    rows = [attrs["data-row"] for tag, attrs in tags if tag == "tr" and "data-row" in attrs and "hidden" not in attrs]
    assert rows and set(rows) == {lane}


def test_every_report_shows_cbor_in_diagnostic_notation_beside_base64(cbor_summary: Summary) -> None:
    import io
    import json
    import xml.etree.ElementTree as ET

    import jsonschema

    from conformance.report import json_report, junit, markdown, terminal
    notation = '{"message": "Could not find job conformance-probe."}'
    document = json_report.build(cbor_summary)
    schema = json.loads((Path(__file__).parent.parent / "docs" / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(json.dumps(document)), schema)
    bodies = [failure["actual"]["body"] for failure in document["failures"] if failure["actual"]]
    assert any(body.get("diagnostic") == notation and "base64" in body for body in bodies)
    shown = io.StringIO()
    terminal.write(cbor_summary, shown)
    assert f"(CBOR: {notation})" in shown.getvalue() and "(base64) " in shown.getvalue()
    assert notation in markdown.build(cbor_summary)
    assert f"answer body (CBOR): {notation}" in ET.tostring(junit.build(cbor_summary), encoding="unicode") \
        .replace("&quot;", '"')


def test_a_failure_shows_its_twin_minimal_steps_recording_and_the_baseline_escaped(summary: Summary) -> None:
    from conformance.engine.baseline import BaselineJudgement, Entry
    from conformance.engine.results import StepSequence
    from conformance.report.records import MinimalRecord, UsualRecord
    first = summary.failures[1]
    twin = UsualRecord(first.request, first.actual)
    minimal = MinimalRecord({**first.case, "document": {"JobId": HOSTILE}}, f"minimal {HOSTILE}", first.request,
                            first.actual, "curl minimal-repro", 7, False)
    steps = StepSequence((f"1. start job {HOSTILE}", "2. stop job 1"), 2, 9, 3, 14)
    record = dataclasses.replace(first, case={**first.case, "spelling": "escape all"}, usual=twin, minimal=minimal,
                                 sequence=steps, recorded={"status": 400, "error_type": HOSTILE, "body": {}},
                                 accepted=False)
    entry = Entry("StopPiiEntitiesDetectionJob", "awsJson1_1", "status_code", "valid.letters", HOSTILE)
    judgement = BaselineJudgement("baseline.json", False, (entry,), 3, (entry,), 1, (entry,), ())
    changed = dataclasses.replace(summary, failures=[record], warnings=[], not_judged=[],
                                  decision=dataclasses.replace(summary.decision, baseline=judgement))
    page = html.build(changed)
    for shown in ("The same case in the usual spelling (this one: escape all)", "usual request", "usual answer",
                  "Minimal example (shrunk against the target in 7 request(s); a bound stopped the shrink",
                  "curl minimal-repro", "the shortest failing run found: 2 steps (the run that failed took 9; "
                  "3 shorter run(s) tried, 14 requests)", "2. stop job 1", "Recorded answer",
                  "new: no baseline entry accepts it", "<code>baseline.json</code>: 3 accepted failures, 1 new, "
                  "1 fixed entries", "fixed: remove it", "New failures"):
        assert shown in page, shown
    assert HOSTILE not in page and page.count(html._e(HOSTILE)) >= 5
    assert "img" not in [tag for tag, _ in _elements(page).tags]
