"""A failure as reports show it: the case, the request as sent, what was expected, the answer, and how to reproduce
it; every secret redacted and every value a target supplied clipped. One typed record; each report writer reads
its fields, and the JSON report writes `to_json`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from conformance import __version__
from conformance.cases import FLOW_KINDS, Kind, lane_label
from conformance.engine.results import CaseResult, Shrinking, StepSequence
from conformance.judging.check_results import Failed, Severity
from conformance.judging.checks import severity
from conformance.report.reproduce import curl_command
from conformance.targets.target import Target
from conformance.wire.cbor.diagnostic import render
from conformance.wire.http import clipped
from conformance.wire.protocol_facts import CBOR_CONTENT_TYPE
from conformance.wire.redaction import redact_headers, redact_text

REPORT_FORMAT = "conformance-report/1"
MAX_BODY_SHOWN = 2048
MAX_DIAGNOSTIC = 4096  # characters of a body's diagnostic notation (it is of the whole body, not the shown bytes)
MAX_CURL_BODY = 64 << 10  # a larger request body carries a value a target supplied (a JobId): no curl line


@dataclass(frozen=True)
class Body:
    """A body as shown: its text (UTF-8), else its base64, its first MAX_BODY_SHOWN bytes; beside them, for CBOR, its
    diagnostic notation (RFC 8949 §8) of the whole body, bounded."""

    length: int
    truncated: bool
    text: str | None = None
    base64: str | None = None
    diagnostic: str | None = None  # a body of CBOR content type, or one not UTF-8 that is well-formed CBOR

    @classmethod
    def of(cls, data: bytes, content_type: str | None = None) -> Body:
        """The body of these bytes (sent or answered with this Content-Type)."""
        shown = data[:MAX_BODY_SHOWN]
        cbor = bool(data) and (content_type or "").split(";")[0].strip().lower() == CBOR_CONTENT_TYPE
        try:
            text = shown.decode("utf-8")
        except UnicodeDecodeError:
            notation, well_formed = render(data, MAX_DIAGNOSTIC)
            # Garbage that is not CBOR either stays base64 alone, unless its content type says CBOR.
            return cls(len(data), len(data) > MAX_BODY_SHOWN, base64=base64.b64encode(shown).decode("ascii"),
                       diagnostic=notation if well_formed or cbor else None)
        return cls(len(data), len(data) > MAX_BODY_SHOWN, text=text,
                   diagnostic=render(data, MAX_DIAGNOSTIC)[0] if cbor else None)

    @property
    def shown(self) -> str:
        """The text, else `(base64) ...`."""
        return self.text if self.text is not None else f"(base64) {self.base64 or ''}"

    def line(self, limit: int = 200) -> str:
        """The shown body quoted, clipped to `limit`, and its diagnostic notation beside it: `'(base64) oWFh' (CBOR:
        {"a": 1})`."""
        beside = "" if self.diagnostic is None else f" (CBOR: {clipped(self.diagnostic, limit)})"
        return f"{self.shown[:limit]!r}{beside}"

    def to_json(self) -> dict[str, Any]:
        """As the JSON report holds it."""
        shown = {"text": self.text} if self.text is not None else {"base64": self.base64}
        diagnostic = {"diagnostic": self.diagnostic} if self.diagnostic is not None else {}
        return {**shown, **diagnostic, "length": self.length, "truncated": self.truncated}


@dataclass(frozen=True)
class RequestRecord:
    """The request as sent (signature and token redacted)."""

    method: str
    url: str  # absolute, where `HttpRequest` has a path
    body: Body
    headers: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """As the JSON report holds it."""
        return {"method": self.method, "url": self.url, "headers": self.headers, "body": self.body.to_json()}


@dataclass(frozen=True)
class AnswerRecord:
    """The answer as received."""

    status: int
    error_type: str | None
    headers: dict[str, str]
    body: Body

    def to_json(self) -> dict[str, Any]:
        """As the JSON report holds it."""
        return {"status": self.status, "error_type": self.error_type, "headers": self.headers,
                "body": self.body.to_json()}


@dataclass(frozen=True)
class UsualRecord:
    """The same case in its protocol's usual spelling, as sent and answered: what a case in another spelling is
    compared with."""

    request: RequestRecord
    actual: AnswerRecord | None

    def to_json(self) -> dict[str, Any]:
        """As the JSON report holds it."""
        return {"request": self.request.to_json(), "actual": None if self.actual is None else self.actual.to_json()}


@dataclass(frozen=True)
class MinimalRecord:
    """The smallest case of a failing generated case's family found to fail the same check, shrunk against the
    target: the case, its exchange and reproduction, and how the shrink went."""

    case: dict[str, Any]  # `Case.to_json()`
    message: str  # what the check said of it
    request: RequestRecord
    actual: AnswerRecord | None
    curl: str
    tries: int  # cases the shrink sent
    finished: bool  # False: a bound (--shrink-requests, time, the budget) stopped it, so a smaller one may exist

    def to_json(self) -> dict[str, Any]:
        """As the JSON report holds it."""
        return {"case": self.case, "message": self.message, "request": self.request.to_json(),
                "actual": None if self.actual is None else self.actual.to_json(), "curl": self.curl,
                "tries": self.tries, "finished": self.finished}


@dataclass(frozen=True)
class FailureRecord:
    """One failure (or warning, or unjudged case) in the fixed layout: case, request, expected, actual, and a
    reproduction."""

    operation: str  # the lane's label: "StopPiiEntitiesDetectionJob over awsJson1_1"
    protocol: str
    check: str | None  # None: a case that was not judged
    severity: Severity | None
    message: str
    check_expected: str
    check_actual: str
    case: dict[str, Any]  # `Case.to_json()`
    request: RequestRecord
    expected: str  # every answer the oracle allows
    actual: AnswerRecord | None  # None: no answer came
    curl: str
    usual: UsualRecord | None = None  # for a case in another spelling: the same case in the usual one
    minimal: MinimalRecord | None = None  # for a failing generated case: its smallest failing form, shrunk
    sequence: StepSequence | None = None  # a state-machine step: the shortest failing run's steps
    recorded: dict[str, Any] | None = None  # with `run --recording`: the recorded answer to the same case
    accepted: bool | None = None  # with --baseline: whether an entry of it accepts this failure (None: no baseline)

    def steps_heading(self) -> str:
        """e.g. `the shortest failing run found: 4 steps (the run that failed took 13; 14 shorter runs tried, 90
        requests)`; empty without a sequence."""
        found = self.sequence
        if found is None:
            return ""
        tried = f"{found.replays} shorter run(s) tried, {found.requests} requests" if found.replays else "not shrunk"
        return f"the shortest failing run found: {found.length} steps (the run that failed took {found.original}; " \
               f"{tried})"

    @property
    def category(self) -> str:
        """The case's category."""
        return str(self.case["category"])

    @property
    def kind(self) -> Kind:
        """The case's kind."""
        return Kind(self.case["kind"])

    @property
    def in_a_job_flow(self) -> bool:
        """Whether the case is one of a job flow's (its answer depends on the job, not on the case's category)."""
        return self.kind in FLOW_KINDS

    def to_json(self) -> dict[str, Any]:
        """As the JSON report holds it (`conformance-report/1`)."""
        return {"operation": self.operation, "protocol": self.protocol, "check": self.check,
                "severity": None if self.severity is None else str(self.severity), "message": self.message,
                "check_expected": self.check_expected, "check_actual": self.check_actual, "case": self.case,
                "request": self.request.to_json(), "expected": self.expected,
                "actual": None if self.actual is None else self.actual.to_json(), "curl": self.curl,
                "usual": None if self.usual is None else self.usual.to_json(),
                "minimal": None if self.minimal is None else self.minimal.to_json(),
                **({"sequence": {"steps": list(self.sequence.steps), "length": self.sequence.length,
                                 "original_steps": self.sequence.original, "replays": self.sequence.replays,
                                 "requests": self.sequence.requests}}
                   if self.sequence is not None else {}),
                **({"recorded": self.recorded} if self.recorded is not None else {}),
                **({"accepted": self.accepted} if self.accepted is not None else {})}


def failure_record(result: CaseResult, check_id: str | None, verdict: Failed, target: Target,
                   secrets: list[str], label: str | None = None, shrunk: Shrinking | None = None) -> FailureRecord:
    """One failure as a record (with `shrunk`, its smallest failing form beside it); every string it holds has the
    secrets replaced."""
    redact = (lambda text: redact_text(text, secrets)) if secrets else (lambda text: text)
    usual = None if result.usual is None else UsualRecord(_request_record(result.usual, target, redact),
                                                          _answer_record(result.usual, redact))
    minimal = None
    if shrunk is not None:
        said = shrunk.minimal.verdicts.get(shrunk.check)
        minimal = MinimalRecord(
            _redact_all(_case_json(shrunk.minimal), redact), redact(said.message if isinstance(said, Failed) else ""),
            _request_record(shrunk.minimal, target, redact), _answer_record(shrunk.minimal, redact),
            redact(_curl(shrunk.minimal, target)), shrunk.tries, shrunk.finished)
    return FailureRecord(
        operation=redact(label or lane_label(result.case.operation, result.protocol)), protocol=result.protocol,
        check=check_id, severity=severity(check_id) if check_id else None, message=redact(verdict.message),
        check_expected=redact(verdict.expected), check_actual=redact(verdict.actual),
        case=_redact_all(_case_json(result), redact), request=_request_record(result, target, redact),
        expected=redact(result.expectation.describe()), actual=_answer_record(result, redact),
        curl=redact(_curl(result, target)), usual=usual, minimal=minimal,
        sequence=_redacted_sequence(result.sequence, redact),
        recorded=None if result.recorded is None else _redact_all(_clipped_strings(result.recorded), redact))


def case_shown(case: dict[str, object]) -> str:
    """A case's body as one short line: its document as JSON, else its raw body."""
    if "document" in case:
        text = json.dumps(case["document"], ensure_ascii=False)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: no terminal or file can take it raw, so all escaped
                text = json.dumps(case["document"])
        return clipped(text, 200)
    return repr(clipped(str(case.get("raw_body", "")), 200))


def _case_json(result: CaseResult) -> dict[str, Any]:
    """A case as reports show it. A flow's cases carry the JobId the target's Start answered: clipped. The others
    are ours, kept whole, so that --rerun sends them again byte for byte."""
    case = result.case.to_json()
    return _clipped_strings(case) if result.case.kind in FLOW_KINDS else case


def _curl(result: CaseResult, target: Target) -> str:
    """A case's reproduction (none for a body so large that it carries a value the target supplied)."""
    request = result.request
    if len(request.body) > MAX_CURL_BODY:
        return (f"(not shown: the request body is {len(request.body)} bytes, a value the target supplied; see "
                "request.body)")
    return curl_command(request, target, result.operation.service, result.case.signing)


def _request_record(result: CaseResult, target: Target, redact: Any) -> RequestRecord:
    """A case's request as reports show it."""
    request = result.request
    return RequestRecord(
        request.method, redact(clipped(target.endpoint(result.operation.service.name).rstrip("/") + request.path)),
        _redacted_body(Body.of(request.body, _content_type(request.headers)), redact), _shown_headers(redact_headers(request.headers), redact))


def _answer_record(result: CaseResult, redact: Any) -> AnswerRecord | None:
    """A case's answer as reports show it (None: none came)."""
    answer = result.answer
    return None if answer is None else AnswerRecord(
        answer.status, None if answer.error_type is None else redact(clipped(answer.error_type)),
        _shown_headers(redact_headers(answer.response.headers), redact),
        _redacted_body(Body.of(answer.response.body, _content_type(answer.response.headers)), redact))


def _content_type(headers: Any) -> str | None:
    """The Content-Type among these headers, by any case of its name."""
    return next((str(value) for name, value in dict(headers).items() if str(name).lower() == "content-type"), None)


def _redacted_sequence(sequence: StepSequence | None, redact: Any) -> StepSequence | None:
    """A failing run's steps as reports show them: each line clipped (it quotes the target) and redacted."""
    if sequence is None:
        return None
    return StepSequence(tuple(redact(clipped(line, 400)) for line in sequence.steps), sequence.length,
                        sequence.original, sequence.replays, sequence.requests)


def _shown_headers(headers: dict[str, str], redact: Any) -> dict[str, str]:
    return {redact(clipped(str(name))): redact(clipped(value)) for name, value in headers.items()}


def _redacted_body(body: Body, redact: Any) -> Body:
    # The notation quotes the body's strings: a secret among them is replaced there too.
    diagnostic = None if body.diagnostic is None else redact(body.diagnostic)
    if body.text is None:
        return Body(body.length, body.truncated, base64=body.base64, diagnostic=diagnostic)
    return Body(body.length, body.truncated, text=redact(body.text), diagnostic=diagnostic)


def _clipped_strings(value: Any) -> Any:
    """Every string in a JSON-like value clipped (`wire.http.clipped`): a target may have supplied any of them."""
    if isinstance(value, str):
        return clipped(value)
    if isinstance(value, dict):
        return {clipped(str(key)): _clipped_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clipped_strings(item) for item in value]
    return value


def _redact_all(value: Any, redact: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_all(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_all(item, redact) for item in value]
    return value


def recorded_line(recorded: dict[str, Any]) -> str:
    """A recorded answer on one line: `400 ValidationException body '{...}'` (`run --recording`)."""
    body = json.dumps(recorded.get("body"), ensure_ascii=False, default=str)
    return f"{recorded.get('status')} {recorded.get('error_type') or '-'} body {clipped(body, 200)!r}"


def tool() -> dict[str, str]:
    """This tool's name and version, for reports."""
    return {"name": "aws-comprehend-conformance", "version": __version__}
