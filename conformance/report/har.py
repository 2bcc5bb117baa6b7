"""The HAR report (`--report-har PATH`): the run's exchanges as an HTTP Archive 1.2 file, for HAR viewers and tools.

One entry per case result that went out (its last attempt, where throttling made it retry; a job flow's last look at
a settling job), in the order sent: the request as the suite built it (before signing: the signature and session
token never reach a report), the answer as received, the time it took. Secrets are redacted as in every other
report (`wire.redaction`); a body that is not UTF-8 (CBOR) is base64 with `encoding: "base64"`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.engine.results import CaseResult, SkipReason
from conformance.report import Summary
from conformance.targets.target import Target
from conformance.wire.redaction import redact_headers, redact_text, secrets_of

HAR_VERSION = "1.2"
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Payload Too Large",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def build(summary: Summary) -> dict[str, Any]:
    """The HAR document of a run: `log` with its creator and one entry per exchange sent."""
    run = summary.run
    target = run.config.target
    secrets = secrets_of(target.credentials)

    def redact(text: str) -> str:
        return redact_text(text, secrets) if secrets else text

    # CaseResult.sent_at is time.monotonic(): the wall clock is read once, to date every entry.
    wall_offset = time.time() - time.monotonic()
    sent = sorted((result for result in run.results  # a request the job-id guard refused never went out
                   if result.attempts > 0 and result.not_judged is not SkipReason.UNSAFE_REQUEST),
                  key=lambda result: result.sent_at)
    return {"log": {"version": HAR_VERSION,
                    "creator": {"name": "aws-comprehend-conformance", "version": __version__},
                    "pages": [],
                    "entries": [entry(result, target, redact, wall_offset) for result in sent],
                    "comment": redact(f"conformance run against {target.url} ({target.name}), seed {run.config.seed}; "
                                      f"verdict {summary.verdict.value}")}}


def entry(result: CaseResult, target: Target, redact: Callable[[str], str], wall_offset: float) -> dict[str, Any]:
    """One exchange as a HAR entry (an unanswered request: status 0 and an empty response, as browsers record it)."""
    request = result.request
    url = target.endpoint(result.operation.service.name).rstrip("/") + request.path
    answer = result.answer
    elapsed_ms = round(answer.response.elapsed * 1000, 3) if answer is not None else 0
    started = datetime.fromtimestamp(result.sent_at + wall_offset, tz=timezone.utc)
    content_type = request.header("Content-Type") or "application/octet-stream"
    har_request = {"method": request.method, "url": redact(url), "httpVersion": "HTTP/1.1", "cookies": [],
                   "headers": _headers(redact_headers(request.headers), redact), "queryString": [],
                   "headersSize": -1, "bodySize": len(request.body)}
    if request.body or request.method not in ("GET", "HEAD"):
        har_request["postData"] = {"mimeType": content_type, **_body(request.body, redact, content_type)}
    if answer is None:
        response: dict[str, Any] = {"status": 0, "statusText": "", "httpVersion": "", "cookies": [], "headers": [],
                                    "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "",
                                    "headersSize": -1, "bodySize": -1}
    else:
        answered = answer.response
        answer_type = answered.header("Content-Type") or "x-unknown"
        response = {"status": answered.status, "statusText": _REASONS.get(answered.status, ""),
                    "httpVersion": "HTTP/1.1", "cookies": [],
                    "headers": _headers(redact_headers(answered.headers), redact),
                    "content": {"size": len(answered.body), "mimeType": answer_type,
                                **_body(answered.body, redact, answer_type)},
                    "redirectURL": "", "headersSize": -1, "bodySize": len(answered.body)}
    return {"startedDateTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "time": elapsed_ms, "request": har_request, "response": response, "cache": {},
            "timings": {"send": 0, "wait": elapsed_ms, "receive": 0},
            "comment": redact(f"{result.lane[0]} over {result.protocol}: {result.case.category}: "
                              f"{result.case.description}")}


def write(summary: Summary, path: Path) -> None:
    """Write the HAR file (OSError when it cannot be written)."""
    path.write_text(json.dumps(build(summary), indent=1, ensure_ascii=True) + "\n", encoding="utf-8")


def _headers(headers: dict[str, str], redact: Callable[[str], str]) -> list[dict[str, str]]:
    """HAR's list of name/value pairs, every value redacted."""
    return [{"name": redact(str(name)), "value": redact(str(value))} for name, value in headers.items()]


def _body(data: bytes, redact: Callable[[str], str], mime_type: str) -> dict[str, str]:
    """A body as HAR holds it: base64 with `encoding` for CBOR (some CBOR happens to be UTF-8) and any body that is
    not UTF-8, else its text; redacted either way."""
    if "cbor" not in mime_type.lower():
        try:
            return {"text": redact(data.decode("utf-8"))}
        except UnicodeDecodeError:
            pass
    # A secret in binary: its bytes replaced before encoding, so the base64 cannot carry it either.
    return {"text": base64.b64encode(_redact_bytes(data, redact)).decode("ascii"), "encoding": "base64"}


def _redact_bytes(data: bytes, redact: Callable[[str], str]) -> bytes:
    """Bytes with any secret (as UTF-8) replaced; latin-1 maps every byte to one character and back."""
    return redact(data.decode("latin-1")).encode("latin-1", errors="replace")
