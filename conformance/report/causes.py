"""Failures grouped by cause, and a short stable ID per failing case: what every report writer groups and names by.

A cause is the lane and the kind of answer (status and error type, or no answer): a hundred cases answered with one
500 page are one cause. A job flow's answers depend on the job rather than on the case, so there the check is part of
the cause too. A case's ID is a digest of what it sends (operation, protocol, category, request bytes), not of what the
target answered, so it names the same case in another run of the same seed, and in a rerun.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from conformance.cases import FLOW_KINDS
from conformance.report.records import FailureRecord

CASE_ID_LENGTH = 8  # hex digits: 4 billion values, against a few thousand failing cases per run
JOB_PLACEHOLDER = "<job>"  # a flow case's JobId is the target's, another each run: not part of its identity
_FLOW_KIND_VALUES = frozenset(kind.value for kind in FLOW_KINDS)


def case_id(record: FailureRecord) -> str:
    """The failing case's short stable ID, e.g. `c3f09a1e`."""
    return case_id_of(record.operation, record.protocol, record.case)


def case_id_of(operation: str, protocol: str, case: dict[str, Any]) -> str:
    """The ID of a case (as `Case.to_json` gives it) sent as `operation` over `protocol`."""
    sent = {name: value for name, value in case.items() if name not in ("description", "known_status",
                                                                        "possible_statuses")}
    if case.get("kind") in _FLOW_KIND_VALUES and isinstance(sent.get("document"), dict) \
            and "JobId" in sent["document"]:
        sent["document"] = {**sent["document"], "JobId": JOB_PLACEHOLDER}
    text = json.dumps([operation, protocol, sent], sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:CASE_ID_LENGTH]


@dataclass
class Answered:
    """One answer to one case and every check it failed: what a report shows once, naming all its checks."""

    records: list[FailureRecord] = field(default_factory=list)

    @property
    def first(self) -> FailureRecord:
        """The record whose exchange is shown (one with a minimal example where there is one)."""
        return next((record for record in self.records if record.minimal), self.records[0])

    @property
    def checks(self) -> list[str]:
        """The checks the answer failed, in the order they were judged."""
        return list(dict.fromkeys(str(record.check) for record in self.records))

    @property
    def messages(self) -> list[tuple[str, str]]:
        """(check, what it said) per failed check, each once."""
        said: dict[str, str] = {}
        for record in self.records:
            said.setdefault(str(record.check), record.message)
        return list(said.items())

    @property
    def case_id(self) -> str:
        """The case's short stable ID."""
        return case_id(self.records[0])


def answer_key(record: FailureRecord) -> tuple[object, ...]:
    """What makes two records one answer: the lane, the case, the request as sent and the answer as received."""
    request, actual = record.request, record.actual
    answered = (actual.status, actual.error_type, actual.body.shown) if actual else (None, None, record.message)
    return (record.operation, record.protocol, case_id(record), request.method, request.url, request.body.shown,
            *answered)


def by_answer(records: list[FailureRecord]) -> list[Answered]:
    """Records grouped by the answer they judged, in order of first appearance: five checks failing one 500 are
    one entry."""
    groups: dict[tuple[object, ...], Answered] = {}
    for record in records:
        groups.setdefault(answer_key(record), Answered()).records.append(record)
    return list(groups.values())


@dataclass
class Cause:
    """The failing answers that share one cause, in the order they were found; the first is the one shown."""

    key: tuple[object, ...]
    answers: list[Answered] = field(default_factory=list)

    @property
    def records(self) -> list[FailureRecord]:
        """Every failure record of the cause."""
        return [record for answer in self.answers for record in answer.records]

    @property
    def shown(self) -> Answered:
        """The answer a report shows for the cause: one with a minimal example where there is one."""
        return next((answer for answer in self.answers if any(r.minimal for r in answer.records)), self.answers[0])

    @property
    def first(self) -> FailureRecord:
        """The record a report shows for the cause: one with a minimal example where there is one."""
        return self.shown.first

    @property
    def checks(self) -> list[str]:
        """Every check the cause's answers failed, sorted."""
        return sorted({str(record.check) for record in self.records})

    @property
    def case_ids(self) -> list[str]:
        """The IDs of its failing cases, in order of first appearance."""
        return list(dict.fromkeys(answer.case_id for answer in self.answers))

    @property
    def categories(self) -> list[str]:
        """The case categories of its failures, sorted."""
        return sorted({record.category for record in self.records})

    def to_json(self) -> dict[str, Any]:
        """As the JSON report's `causes` list holds it."""
        return {"key": [None if part is None else str(part) if not isinstance(part, int) else part
                        for part in self.key],
                "checks": self.checks, "case_ids": self.case_ids, "count": len(self.answers)}


def by_cause(records: list[FailureRecord]) -> list[Cause]:
    """Records grouped by answer, the answers by cause, in order of first appearance."""
    groups: dict[tuple[object, ...], Cause] = {}
    for answer in by_answer(records):
        key = cause_key(answer.records[0], answer.checks)
        groups.setdefault(key, Cause(key)).answers.append(answer)
    return list(groups.values())


def cause_key(record: FailureRecord, checks: list[str] | None = None) -> tuple[object, ...]:
    """The lane, the kind of answer (status and error type; no answer: the message), and for a job flow's case the
    checks its answer failed (`checks`, else the record's own)."""
    actual = record.actual
    answered = (actual.status, actual.error_type) if actual else (None, record.message)
    # A flow's answer depends on the job, not on the case: what it failed tells its causes apart.
    per_check = ", ".join(checks if checks is not None else [str(record.check)]) if record.in_a_job_flow else ""
    return (record.operation, per_check, *answered)
