"""A recording of a target (`conformance record`), and a run judged against one (`conformance run --recording`).

A recording (`conformance-recording/1`, JSON Schema `docs/recording.schema.json`) holds every exchange of the
deterministic part of a run: the case (`Case.to_json`), the request as sent (signature and token redacted, every
secret of the target's credentials replaced), and the answer (status, error type, the headers that matter, the
decoded body). A replay's results are matched to the recorded exchanges: a job flow's case by its lane, category and
place in the flow (its JobId is the job the replay started), any other by `Case.key()` over its protocol; then the
opt-in checks `recording` and `recording_choice` compare the two answers' forms (`judging.answer_forms`).
"""

from __future__ import annotations

import datetime
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.cases import FLOW_KINDS, Case, Kind, LaneKey, categories, category
from conformance.engine.results import CaseResult, RunResult
from conformance.judging.answer_forms import answer_form
from conformance.judging.check_results import Failed, Severity
from conformance.judging.checks import RECORDING_CHECKS, REGISTRY, CheckContext, Recorded, job_member, run_checks
from conformance.protocols import Answer, get_protocol
from conformance.protocols.base import message_of
from conformance.report.records import Body, _clipped_strings, tool
from conformance.wire.http import HttpResponse
from conformance.wire.redaction import redact_headers, redact_text, secrets_of

RECORDING_FORMAT = "conformance-recording/1"
# Answer headers a recording keeps: what the protocols read or the checks judge; dates and request ids never.
KEPT_HEADERS = ("content-type", "smithy-protocol", "x-amzn-query-error", "x-amzn-errortype")


class RecordingError(ValueError):
    """The file is not a recording of `conformance record`, or one of its exchanges cannot be read."""


@dataclass(frozen=True)
class RecordedExchange:
    """One recorded exchange: the lane, the case, and the answer as the recording holds it."""

    lane: LaneKey
    protocol: str
    case: Case
    answer: dict[str, Any] | None  # None: no answer came
    failed_checks: tuple[str, ...]  # error-severity checks its answer failed when recorded
    key: tuple[Any, ...]  # how a replay's result finds it (see `match_key`)


@dataclass(frozen=True)
class Recording:
    """A recording read back: what was run, and its exchanges."""

    path: Path
    data: dict[str, Any]
    exchanges: tuple[RecordedExchange, ...]

    @property
    def seed(self) -> int:
        """The seed of the recorded run."""
        return int(self.data["run"]["seed"])

    def rerun(self) -> tuple[tuple[LaneKey, Case], ...]:
        """The planned cases to send again (the probes, authentication cases and job flows send their own)."""
        return tuple((exchange.lane, exchange.case) for exchange in self.exchanges if _planned(exchange.case))

    def has_flows(self) -> bool:
        """Whether the recording holds a job flow (then the replay runs the flows)."""
        return any(exchange.case.kind in FLOW_KINDS for exchange in self.exchanges)


def _planned(case: Case) -> bool:
    return case.kind not in FLOW_KINDS and case.kind is not Kind.AUTH and case.category != categories.PROBE.name


# --- writing -------------------------------------------------------------------------------------------------------

def write(result: RunResult, path: Path, region: str) -> int:
    """Write the run's exchanges as a recording; the number written. Every secret of the target is replaced."""
    config = result.config
    target = config.target
    secrets = secrets_of(target.credentials)
    exchanges = [_exchange(item, secrets) for item in _ordered(result.results) if item.not_judged is None]
    data = {
        "format": RECORDING_FORMAT, "tool": tool(), "version": __version__,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": {"name": target.name, "urls": [_redact(url, secrets) for url in target.urls()]}, "region": region,
        "run": {"seed": config.seed, "max_examples": config.max_examples, "protocol": config.protocol,
                "operations": [operation.name for operation in result.operations], "near_misses": config.near_misses,
                "create_jobs": config.create_jobs},
        "exchanges": exchanges,
    }
    # ASCII: a lone surrogate (a case's) stays escaped, as no UTF-8 file can hold it raw.
    text = _redact(json.dumps(data, indent=1, allow_nan=False), secrets)
    path.write_text(text + "\n", encoding="utf-8")
    return len(exchanges)


def _ordered(results: Iterable[CaseResult]) -> list[CaseResult]:
    return sorted(results, key=lambda item: item.sent_at)


def _redact(text: str, secrets: list[str]) -> str:
    return redact_text(text, secrets) if secrets else text


def _exchange(result: CaseResult, secrets: list[str]) -> dict[str, Any]:
    request = result.request
    body = Body.of(request.body)
    case = result.case.to_json()
    return {
        "lane": list(result.lane), "protocol": result.protocol,
        "case": _clipped_strings(case) if result.case.kind in FLOW_KINDS else case,
        "request": {"method": request.method, "path": request.path, "headers": redact_headers(request.headers),
                    "body": {**({"text": _redact(body.text, secrets)} if body.text is not None
                                else {"base64": body.base64}), "length": body.length, "truncated": body.truncated}},
        "answer": None if result.answer is None else answer_json(result.answer),
        "failed_checks": sorted(check for check, verdict in result.verdicts.items()
                                if isinstance(verdict, Failed) and REGISTRY[check].severity is Severity.ERROR),
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer as a recording (and a report's `recorded`) holds it: status, error type, kept headers, body."""
    headers = {name: answer.response.headers[name] for name in KEPT_HEADERS if name in answer.response.headers}
    return {"status": answer.status, "error_type": answer.error_type, "headers": headers,
            "body": _json_value(answer.document), "body_length": len(answer.response.body),
            "decode_error": answer.decode_error, "status_only": answer.status_only}


def _json_value(value: Any) -> Any:
    """A decoded body as JSON holds it: CBOR bytes, tags, timestamps and non-finite floats spelled out."""
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return {"cbor_bytes": bytes(value).hex()}
    if isinstance(value, datetime.datetime):
        return {"cbor_timestamp": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    if hasattr(value, "tag") and hasattr(value, "value"):  # cbor2.CBORTag
        return {"cbor_tag": value.tag, "value": _json_value(value.value)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return {"unknown": repr(value)[:200]}


def _from_json_value(value: Any) -> Any:
    """The inverse of `_json_value`, as far as the comparison needs (a value's type and content)."""
    if isinstance(value, dict):
        if set(value) == {"cbor_bytes"} and isinstance(value["cbor_bytes"], str):
            return bytes.fromhex(value["cbor_bytes"])
        if set(value) == {"cbor_timestamp"}:
            return datetime.datetime.fromisoformat(str(value["cbor_timestamp"]))
        if set(value) == {"float"}:
            return float(value["float"])
        return {key: _from_json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_json_value(item) for item in value]
    return value


# --- reading -------------------------------------------------------------------------------------------------------

def load(path: Path) -> Recording:
    """A recording read back; RecordingError (one line) when the file is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordingError(f"--recording {path}: not a recording of `conformance record`: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != RECORDING_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise RecordingError(f"--recording {path}: not a recording of `conformance record` (its format is "
                             f"{found!r}, not {RECORDING_FORMAT})")
    exchanges = []
    counts: Counter[tuple[Any, ...]] = Counter()
    try:
        int(data["run"]["seed"])
        for number, item in enumerate(data["exchanges"]):
            case = Case.from_json(item["case"])
            if category(case.category).kind is not case.kind:
                raise ValueError(f"category {case.category} is of kind {category(case.category).kind.value}")
            lane = (str(item["lane"][0]), str(item["lane"][1]))
            protocol = str(item["protocol"])
            get_protocol(protocol)
            answer = item["answer"]
            if answer is not None and not isinstance(answer.get("status"), int):
                raise ValueError(f"exchange {number}: the answer has no status")
            base = match_key(lane, protocol, case)
            key = (*base, counts[base])
            counts[base] += 1
            exchanges.append(RecordedExchange(lane, protocol, case, answer, tuple(item.get("failed_checks", ())), key))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise RecordingError(f"--recording {path}: an exchange cannot be read ({type(exc).__name__}: {exc})") from None
    return Recording(path, data, tuple(exchanges))


def match_key(lane: LaneKey, protocol: str, case: Case) -> tuple[Any, ...]:
    """What pairs a replayed case with a recorded one: a job flow's by lane, category and operation (its JobId is
    each run's own job), any other by `Case.key()` over its protocol; the caller adds the place among equals."""
    if case.kind in FLOW_KINDS:
        return ("flow", *lane, protocol, case.category, case.operation)
    return ("case", protocol, case.key())


# --- judging a replay ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """What a replay's comparison with a recording found: exchanges matched, and those found on one side only."""

    matched: int
    unmatched_recorded: int
    unmatched_actual: int

    def note(self) -> str:
        """One line for the reports' notes."""
        return (f"--recording: {self.matched} answer(s) compared with the recording; {self.unmatched_recorded} "
                f"recorded exchange(s) not sent again, {self.unmatched_actual} sent with none recorded")


def judge(result: RunResult, recording: Recording, volatile: Iterable[str] = (), strict: bool = False,
          checks: Iterable[str] | None = None) -> Comparison:
    """Judge each replayed answer against the recorded one, adding the verdicts of the opt-in checks `recording` and
    `recording_choice` to its result (and the recorded answer, for the reports)."""
    selected = [check for check in RECORDING_CHECKS if checks is None or check in checks]
    recorded = {exchange.key: exchange for exchange in recording.exchanges}
    recorded_ids = _job_tokens(recording.exchanges, lambda e: (e.lane, e.protocol, e.case, e.answer))
    pointers = frozenset(volatile)
    counts: Counter[tuple[Any, ...]] = Counter()
    matched = 0
    ordered = _ordered(result.results)
    actual_ids = _job_tokens(ordered, lambda r: (r.lane, r.protocol, r.case, r.answer))
    for item in ordered:
        base = match_key(item.lane, item.protocol, item.case)
        key = (*base, counts[base])
        counts[base] += 1
        exchange = recorded.pop(key, None)
        if exchange is None or item.not_judged is not None:
            continue
        if item.answer is None or exchange.answer is None:  # one side got no answer: a difference, never a choice
            if (item.answer is None) != (exchange.answer is None) and "recording" in selected:
                matched += 1
                said = "no answer" if item.answer is None else f"{item.answer.status} {item.answer.error_type or ''}"
                item.verdicts["recording"] = Failed(f"differs from the recording: answered {said.strip()}",
                                                    "no answer" if exchange.answer is None else
                                                    str(exchange.answer.get("status")), said.strip())
                item.recorded = exchange.answer
            continue
        matched += 1
        oracle_allows = not any(isinstance(verdict, Failed) and REGISTRY[check].severity is Severity.ERROR
                                for check, verdict in item.verdicts.items())
        form = answer_form(recorded_answer(exchange.answer), pointers, recorded_ids)
        statuses_allowed = "job_status_allowed" not in exchange.failed_checks and \
            not isinstance(item.verdicts.get("job_status_allowed"), Failed)
        said = Recorded(form, pointers, tuple(actual_ids.items()), conformed=not exchange.failed_checks,
                        oracle_allows=oracle_allows, statuses_allowed=statuses_allowed, strict=strict)
        ctx = CheckContext(item.operation, item.case, item.request, item.answer, item.expectation,
                           get_protocol(item.protocol), recorded=said)
        item.verdicts.update(run_checks(ctx, selected))
        item.recorded = exchange.answer
    return Comparison(matched, len(recorded), len(ordered) - matched)


def _job_tokens(items: Iterable[Any], parts: Any) -> dict[str, str]:
    """The ids each lane's Starts answered, mapped to tokens both sides share: `<job Operation protocol N>`."""
    tokens: dict[str, str] = {}
    seen: Counter[LaneKey] = Counter()
    for item in items:
        lane, protocol, case, answer = parts(item)
        if case.kind is not Kind.START_JOB or answer is None:
            continue
        document = answer.document if isinstance(answer, Answer) else _from_json_value(answer.get("body"))
        job_id = job_member(document, "JobId")
        if isinstance(job_id, str) and job_id and job_id not in tokens:
            seen[lane] += 1
            tokens[job_id] = f"<job {lane[0]} {protocol} {seen[lane]}>"
    return tokens


def recorded_answer(answer: dict[str, Any]) -> Answer:
    """A recorded answer as an `Answer` again, for `answer_forms` (its body stands in by its decoded document)."""
    document = _from_json_value(answer.get("body"))
    headers = {str(name).lower(): str(value) for name, value in (answer.get("headers") or {}).items()}
    length = int(answer.get("body_length") or 0)
    response = HttpResponse(int(answer["status"]), headers, b" " * min(length, 1) if length else b"")
    fields = document if isinstance(document, dict) else {}
    return Answer(response, document, answer.get("decode_error"), answer.get("error_type"),
                  message=message_of(fields), status_only=bool(answer.get("status_only")))


