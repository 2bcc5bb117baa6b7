"""The --dry-run listing: every request a run would send, signed as it would be, with every secret redacted."""

from __future__ import annotations

import sys
from typing import TextIO

from conformance.engine.plan import PlannedRequest
from conformance.engine.transport import Transport
from conformance.protocols import WireProtocol
from conformance.targets.target import Target
from conformance.wire.redaction import redact_headers, redact_text, secrets_of

MAX_BODY_SHOWN = 300


def write(requests: list[PlannedRequest], target: Target, stream: TextIO | None = None) -> None:
    """Print each request: what it tests, its method, URL, headers (redacted) and body."""
    stream = stream or sys.stdout
    transport = Transport(target)  # for URLs and signing only: nothing is sent
    secrets = secrets_of(target.credentials)
    try:
        for number, planned in enumerate(requests, 1):
            print(redact_text(_format(number, planned, transport), secrets), file=stream)
    finally:
        transport.close()
    signed = "signed with SigV4" if target.credentials is not None else "unsigned (no credentials were found)"
    print(f"\n{len(requests)} request(s) planned, {signed}; --dry-run sent none. Throttled requests are retried, "
          "and a job flow polls Describe while its job settles, so a real run may send a few more (never more "
          "than --budget); the state machine's steps after a settling job depend on how soon it settles, and a "
          "failing state-machine run is sent again, shorter, to shrink it.", file=stream)


def _format(number: int, planned: PlannedRequest, transport: Transport) -> str:
    protocol: WireProtocol = planned.lane.protocol
    operation = planned.called
    request = protocol.encode(operation, planned.case)
    headers = transport.prepare(request, operation.service, planned.case.signing)
    lines = [f"\n#{number} {operation.name} over {protocol.name}: {planned.case.category}: {planned.case.description}"
             + (f" ({planned.note})" if planned.note else ""),
             f"{request.method} {transport.url_for(request, operation.service)}"]
    lines += [f"{name}: {value}" for name, value in redact_headers(headers).items()]
    body = request.body[:MAX_BODY_SHOWN]
    is_json = "json" in (request.header("Content-Type") or "")
    text = body.decode("utf-8", "backslashreplace") if is_json else "(hex) " + body.hex()
    suffix = f" ... ({len(request.body)} bytes)" if len(request.body) > MAX_BODY_SHOWN else ""
    lines.append(text + suffix)
    return "\n".join(lines)
