"""What keeps a run safe on a real account: no request may name a job the suite did not start.

Real job ids are 32 hex digits (PROTOCOL_NOTES §1). Generated ids never have that form (see
`generation.strategies.strings`), and the transport refuses to send any request whose body carries such an id
unless the suite's own Start returned it: a hand-written catalog entry or a target's stray answer
cannot make the suite stop somebody's job. The ledger also remembers which started jobs are not yet
known to be stopped, so that a run stops every job it starts, however it ends.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import cbor2

from conformance.model.job_ids import could_be_real_job_id, near_misses

# In bytes that do not decode, a run of 32 hex digits not joined to other JobId characters.
_EMBEDDED_JOB_ID = re.compile(rb"(?<![\w.:/=+%@-])[0-9a-fA-F]{32}(?![\w.:/=+%@-])")
# Any run of 32 or more hex digits in the raw bytes (the candidates of `literal_candidates`).
_HEX_RUN = re.compile(rb"[0-9a-fA-F]{32,}")
# Bytes through which a decoded string can hold hex digits its raw bytes do not show in one run: a JSON
# `\u` escape, the NULs of UTF-16/32 JSON (json.loads detects those encodings), and 0x7f, the start of an
# indefinite-length CBOR text string (its chunks' headers sit between the digits).
_HIDDEN_TEXT = (b"\\u", b"\x00", b"\x7f")
MAX_CANDIDATES = 8  # more candidate windows than this and the body is decoded instead


class UnsafeRequest(Exception):
    """A request would name a job the suite did not start; it is not sent."""


def job_ids_in(body: bytes, content_type: str | None = None) -> set[str]:
    """Every string of the real job-id form a body carries: its exact strings when it decodes, else any such run."""
    try:
        document = _decode(body, content_type or "")
    except Exception:  # noqa: BLE001 - a body that does not decode is scanned as bytes
        return {match.decode("ascii") for match in _EMBEDDED_JOB_ID.findall(body)}
    return {text for text in _strings(document) if could_be_real_job_id(text)}


def literal_candidates(body: bytes) -> set[str] | None:
    """Every 32-character window of a hex-digit run in the raw bytes, a superset of `job_ids_in(body)`; or None
    when the bytes cannot tell (a JSON escape, UTF-16/32 NULs, an indefinite CBOR text string, too many runs).

    Whatever the content type: JSON strings without `\\u` escapes in UTF-8, CBOR definite-length text strings
    (string references and shared values only repeat one of those) and the undecodable-body scan all read
    hex digits straight from the bytes, so a job-id-form string in the document is one of these windows.
    """
    if any(marker in body for marker in _HIDDEN_TEXT):
        return None
    found: set[str] = set()
    for run in _HEX_RUN.findall(body):
        if len(found) + len(run) - 31 > MAX_CANDIDATES:
            return None
        text = run.decode("ascii")
        found.update(text[start:start + 32] for start in range(len(text) - 31))
    return found


def _decode(body: bytes, content_type: str) -> Any:
    if "cbor" not in content_type:
        return json.loads(body)
    stream = io.BytesIO(body)
    document = cbor2.CBORDecoder(stream).decode()
    if stream.tell() != len(body):
        raise ValueError("trailing bytes after the CBOR item")
    return document


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


class JobLedger:
    """The jobs this run started, and which of them are not yet known to be stopped."""

    def __init__(self) -> None:
        self._started: dict[tuple[str, str], bool] = {}  # (service, job id) -> known to be stopped
        self._stoppers: dict[tuple[str, str], str] = {}  # (service, job id) -> the Stop operation of its kind
        self._allowed: set[str] = set()  # the started jobs' ids and their near misses
        # The started jobs' ids case-folded: a real-form id that is one of them in other letter case is the same
        # job to a service that folds case, and no other job to one that does not (real ids are lowercase).
        self._folded: set[str] = set()
        self._lock = threading.Lock()

    def started(self, service: str, job_id: str, stop_operation: str = "") -> None:
        """Record a job the suite's own Start created, and the operation that stops a job of its kind."""
        with self._lock:
            self._started.setdefault((service, job_id), False)
            self._allowed.add(job_id)
            self._allowed.update(value for _, value in near_misses(job_id))
            self._folded.add(job_id.lower())
            if stop_operation:
                self._stoppers[(service, job_id)] = stop_operation

    def stopper(self, service: str, job_id: str) -> str | None:
        """The Stop operation of a started job's kind, if it was recorded."""
        with self._lock:
            return self._stoppers.get((service, job_id))

    def stopped(self, service: str, job_id: str) -> None:
        """Record that a started job was stopped (or had ended)."""
        with self._lock:
            if (service, job_id) in self._started:
                self._started[(service, job_id)] = True

    def created(self, job_id: str) -> bool:
        """Whether this run started a job with this id (in any letter case), or it is one of the fixed near misses
        of such a job."""
        with self._lock:
            return job_id in self._allowed or job_id.lower() in self._folded

    def unstopped(self) -> list[tuple[str, str]]:
        """(service, job id) of every started job not yet known to be stopped."""
        with self._lock:
            return [key for key, done in self._started.items() if not done]

    def all_started(self) -> list[tuple[str, str]]:
        """(service, job id) of every job this run started."""
        with self._lock:
            return list(self._started)

    def check(self, body: bytes, content_type: str | None = None) -> None:
        """Raise UnsafeRequest if the body names a job id of the real form that this run did not create.

        Called on every request body, so the bytes are read first (`literal_candidates`): a body with no
        run of 32 hex digits, or whose every such run the run created, needs no decoding. Otherwise the
        body is decoded and its exact strings judged, as before.
        """
        candidates = literal_candidates(body)
        if candidates is not None:
            with self._lock:
                if candidates <= self._allowed:
                    return
        foreign = sorted(job_id for job_id in job_ids_in(body, content_type) if not self.created(job_id))
        if foreign:
            raise UnsafeRequest(f"not sent: the body carries {foreign[0]!r}, which has the form of a real job id "
                                "and was not created by this run")
