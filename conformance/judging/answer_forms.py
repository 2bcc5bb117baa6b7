"""One comparable form of an answer, protocol-aware: what `run --recording` and `conformance diff` compare.

Two answers that mean the same under their protocol have the same form: the body decoded (JSON escapes, white
space, member order, CBOR lengths and chunks are gone), the error type resolved and sanitised as Smithy says
(`namespace#Name:suffix` is `Name`, wherever the protocol lets it stand), the message's member name (`message` or
`Message`) and wording left out, the framing (chunked or Content-Length) and dates and request ids left out. What a
run cannot repeat is normalised: a job's id (each side maps the ids its Start answers gave to one token), timestamps,
and any value a JSON pointer marks volatile (`--volatile`). What is kept: the status, the error type, the media
type, the member tree with each value's type, and the values that are neither volatile nor a job's id.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.protocols import Answer

# Members whose value is wording or identity of the answer itself, never the same twice: left out of the form.
WORDING_MEMBERS = frozenset({"message", "Message", "__type", "code", "Code", "RequestId", "requestId"})
# Members whose value is a time, wherever they stand (Describe's SubmitTime, EndTime...).
_TIME_SUFFIXES = ("Time", "Date", "Timestamp")
VOLATILE = "<volatile>"


@dataclass(frozen=True)
class AnswerForm:
    """An answer as it compares: status, error type, media type, whether it says a message, and its body's tree."""

    status: int
    error_type: str | None
    media_type: str | None
    has_message: bool
    body: Any  # the body's tree: maps as sorted (name, tree) tuples, scalars as (type, value or VOLATILE)

    def describe(self) -> str:
        """One line: `400 ValidationException {JobId: string}`."""
        said = f"{self.status} {self.error_type or ''}".strip()
        return f"{said} {_shown(self.body)}".strip()


def normalise_job_ids(ids: Iterable[str]) -> dict[str, str]:
    """The jobs' ids a side's Starts answered, each mapped to the token `<job N>` in the order given."""
    return {job_id: f"<job {number}>" for number, job_id in enumerate(dict.fromkeys(ids), 1) if job_id}


def answer_form(answer: Answer, volatile: Iterable[str] = (), job_ids: Mapping[str, str] | None = None) -> AnswerForm:
    """The answer's comparable form; `volatile`: JSON pointers whose values are not compared; `job_ids`: the ids of
    this side's jobs, each mapped to a token shared with the other side."""
    document = answer.document
    if document is None and not answer.response.body.strip():
        document = {}  # an empty body is the empty structure (Smithy: servers and clients read it so)
    media = (answer.response.header("Content-Type") or "").split(";", 1)[0].strip().lower() or None
    if not answer.response.body:
        media = None  # no body: nothing its type could describe
    pointers = frozenset(volatile)
    tree = _tree(document, "", pointers, job_ids or {}) if answer.decode_error is None else ("undecodable", None)
    return AnswerForm(answer.status, answer.error_type if answer.is_error else None, media,
                      bool(answer.message and answer.message.strip()), tree)


def differences(recorded: AnswerForm, actual: AnswerForm) -> list[str]:
    """What differs between two forms, each in a short phrase (empty: they compare equal)."""
    found = []
    if recorded.status != actual.status:
        found.append(f"status {recorded.status} -> {actual.status}")
    if recorded.error_type != actual.error_type:
        found.append(f"error type {recorded.error_type} -> {actual.error_type}")
    if recorded.media_type != actual.media_type:
        found.append(f"Content-Type {recorded.media_type} -> {actual.media_type}")
    if recorded.has_message != actual.has_message:
        found.append("a message" + (" -> none" if recorded.has_message else ": none -> one"))
    if recorded.body != actual.body:
        changes = _tree_differences(recorded.body, actual.body, "")
        found += changes[:MAX_DIFFERENCES_SAID] + ([f"and {len(changes) - MAX_DIFFERENCES_SAID} more"]
                                                    if len(changes) > MAX_DIFFERENCES_SAID else [])
    return found


MAX_DIFFERENCES_SAID = 4
# The member that says where a job is in its lifecycle: where it stands depends on timing, which no replay repeats.
JOB_STATUS_MEMBER = "JobStatus"


def with_member_masked(form: AnswerForm, name: str) -> AnswerForm:
    """The form with every value of members called `name` masked (their presence and type kept)."""
    return dataclasses.replace(form, body=_masked(form.body, name))


def _masked(tree: Any, name: str) -> Any:
    if not isinstance(tree, tuple) or len(tree) != 2:
        return tree
    kind, content = tree
    if kind == "map":
        return ("map", tuple((member, (item[0], VOLATILE) if member == name and item[0] != "map" else
                              _masked(item, name)) for member, item in content))
    if kind == "list":
        return ("list", tuple(_masked(item, name) for item in content))
    return tree


def _tree_differences(recorded: Any, actual: Any, pointer: str) -> list[str]:
    """Where two body trees differ, by JSON pointer: `/Job/JobStatus 'SUBMITTED' -> 'IN_PROGRESS'`."""
    where = pointer or "the body"
    if recorded == actual:
        return []
    if recorded[0] == actual[0] == "map":
        mine, theirs = dict(recorded[1]), dict(actual[1])
        found = [f"{pointer}/{pointer_token(name)} missing" for name in mine if name not in theirs]
        found += [f"{pointer}/{pointer_token(name)} added ({_shown(theirs[name])})" for name in theirs if name not in mine]
        for name in mine:
            if name in theirs:
                found += _tree_differences(mine[name], theirs[name], f"{pointer}/{pointer_token(name)}")
        return found
    if recorded[0] == actual[0] == "list" and len(recorded[1]) == len(actual[1]):
        return [change for index, (one, other) in enumerate(zip(recorded[1], actual[1], strict=True))
                for change in _tree_differences(one, other, f"{pointer}/{index}")]
    return [f"{where} {_shown(recorded)} -> {_shown(actual)}"]


def pointer_token(name: str) -> str:
    """A member name as a JSON pointer's reference token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")


def _tree(value: Any, pointer: str, volatile: frozenset[str], job_ids: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return ("map", tuple(sorted(
            (str(name), _tree(item, f"{pointer}/{pointer_token(str(name))}", volatile, job_ids))
            for name, item in value.items()
            # A volatile member is left out whole: its value, and whether it is there at all.
            if str(name) not in WORDING_MEMBERS and f"{pointer}/{pointer_token(str(name))}" not in volatile)))
    if isinstance(value, list):
        return ("list", tuple(_tree(item, f"{pointer}/{index}", volatile, job_ids) for index, item in enumerate(value)))
    kind = _kind(value)
    name = pointer.rsplit("/", 1)[-1]
    if pointer in volatile or name.endswith(_TIME_SUFFIXES) or isinstance(value, datetime.datetime):
        return (kind, VOLATILE)
    if isinstance(value, str):
        for job_id, token in job_ids.items():  # the id itself, or inside an ARN
            value = value.replace(job_id, token)
        return (kind, value)
    if isinstance(value, float) and math.isnan(value):
        return (kind, "NaN")  # NaN equals nothing, itself included: the form must equal itself
    if isinstance(value, float) and value.is_integer():
        return (kind, int(value))  # CBOR may carry 1.0 where JSON says 1: the same number
    return (kind, value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes | bytearray):
        return "blob"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    return type(value).__name__


def _shown(tree: Any) -> str:
    """A tree for people: `{JobId: string '<job 1>', JobStatus: string 'STOPPED'}`."""
    if not isinstance(tree, tuple) or len(tree) != 2:
        return repr(tree)
    kind, content = tree
    if kind == "map":
        return "{" + ", ".join(f"{name}: {_shown(item)}" for name, item in content) + "}"
    if kind == "list":
        return "[" + ", ".join(_shown(item) for item in content) + "]"
    if content == VOLATILE:
        return kind
    shown = repr(content)
    return f"{kind} {shown if len(shown) <= 60 else shown[:57] + '...'}"
