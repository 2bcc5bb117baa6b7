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
class Cause:
    """The failures that share one cause, in the order they were found; the first is the one shown."""

    key: tuple[object, ...]
    records: list[FailureRecord] = field(default_factory=list)

    @property
    def first(self) -> FailureRecord:
        """The record a report shows for the cause: one with a minimal example where there is one."""
        return next((record for record in self.records if record.minimal), self.records[0])

    @property
    def checks(self) -> list[str]:
        """Every check the cause's answers failed, sorted."""
        return sorted({str(record.check) for record in self.records})

    @property
    def case_ids(self) -> list[str]:
        """The IDs of its failing cases, in order of first appearance."""
        return list(dict.fromkeys(case_id(record) for record in self.records))

    @property
    def categories(self) -> list[str]:
        """The case categories of its failures, sorted."""
        return sorted({record.category for record in self.records})


def by_cause(records: list[FailureRecord]) -> list[Cause]:
    """Records grouped by cause, in order of first appearance."""
    groups: dict[tuple[object, ...], Cause] = {}
    for record in records:
        key = cause_key(record)
        groups.setdefault(key, Cause(key)).records.append(record)
    return list(groups.values())


def cause_key(record: FailureRecord) -> tuple[object, ...]:
    """The lane, the kind of answer (status and error type; no answer: the message), and for a job flow's case the
    check."""
    actual = record.actual
    answered = (actual.status, actual.error_type) if actual else (None, record.message)
    per_check = record.check if record.in_a_job_flow else ""
    return (record.operation, per_check, *answered)
