"""A case: one request the suite sends, labelled with the one thing it tests (its category)."""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
from dataclasses import dataclass
from typing import Any


class Kind(enum.Enum):
    """What a case is, which decides what a conforming endpoint may answer (see `oracle`)."""

    UNKNOWN_JOB = "unknown_job"  # valid request, no such job
    EXISTING_JOB = "existing_job"  # valid request for a job the suite started
    CONSTRAINT = "constraint"  # breaks a length, pattern or required constraint
    SERIALIZATION = "serialization"  # a member of the wrong type, or a body that is not the input structure
    EMPTY_BODY = "empty_body"  # no body at all (read as `{}`, so the required member is missing)
    EXTRA_MEMBER = "extra_member"  # valid, plus a member the input does not have
    UNKNOWN_OPERATION = "unknown_operation"  # the request names no operation the endpoint serves
    START_JOB = "start_job"  # starts a job, so that Stop has a real one to stop
    DESCRIBE_JOB = "describe_job"  # reads the status of a job the suite started
    PROTOCOL_VIOLATION = "protocol_violation"  # breaks a rule of the wire protocol the server must enforce
    AUTH = "auth"  # unsigned, or signed wrongly: an endpoint that enforces SigV4 must refuse it
    NEAR_MISS = "near_miss"  # a JobId next to a real job's (its upper case, a prefix...): no job, or invalid
    UNCLAIMED = "unclaimed"  # lacks the protocol's markers (Content-Type, Smithy-Protocol, POST, path)


# The kinds a job flow sends, about a job it started: their JobIds are what the target's Start answered.
FLOW_KINDS = frozenset({Kind.START_JOB, Kind.DESCRIBE_JOB, Kind.EXISTING_JOB, Kind.NEAR_MISS})

class Signing(enum.StrEnum):
    """How the transport signs a case: as a client would, or wrongly on purpose (the authentication cases)."""

    SIGV4 = "sigv4"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"  # well formed, with a wrong signature
    EXPIRED_DATE = "expired_date"  # signed an hour ago
    # The signing matrix: each signs as a client does but for one thing a verifying server must refuse.
    OTHER_REGION = "other_region"  # a credential scope naming another region
    OTHER_SERVICE = "other_service"  # ... another service (signing name)
    OTHER_SCOPE_DATE = "other_scope_date"  # ... another day than X-Amz-Date's
    OTHER_TERMINATOR = "other_terminator"  # ... ending in another terminator than aws4_request
    DATE_BEHIND = "date_behind"  # signed further in the past than the clock skew allows
    DATE_AHEAD = "date_ahead"  # signed further in the future than the clock skew allows
    UNKNOWN_KEY = "unknown_key"  # an access key id nobody has (and a made-up secret)
    SIGNED_HEADER_CHANGED = "signed_header_changed"  # a header sent with another value than it was signed with
    BODY_CHANGED = "body_changed"  # a body sent other than the one signed
    INCOMPLETE_AUTHORIZATION = "incomplete_authorization"  # an Authorization header without its Signature part
    OTHER_ALGORITHM = "other_algorithm"  # an Authorization header naming AWS4-HMAC-SHA512, the rest unchanged


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"  # unpickled as the module's one ABSENT (compared with `is`), not a copy


ABSENT: Any = _Absent()  # "no document": the case sends `raw_body` instead


@dataclass(frozen=True)
class Case:
    """One request: a JSON-like document (or raw bytes: a body no document gives, or the document in another legal
    spelling), header changes, and what it tests."""

    operation: str
    category: str  # a registered category's name (see `categories`), e.g. "invalid.length.too_long"
    kind: Kind
    description: str
    document: Any = ABSENT
    raw_body: bytes | None = None
    headers: tuple[tuple[str, str | None], ...] = ()  # header changes; None removes the header
    path: str | None = None  # another request path than the protocol's own for the operation
    method: str | None = None  # another method than the protocol's POST
    job_id: str | None = None  # the JobId the case sends, when it sends a string one
    known_status: str | None = None  # the job's status as Describe gave it just before this case
    # A state-machine step: every status the lifecycle model allows its job as the case is sent (None: no model).
    possible_statuses: frozenset[str] | None = None
    signing: Signing = Signing.SIGV4  # how the transport signs it
    # Another legal spelling of `document` (its label, e.g. "chunked strings, long heads"), whose bytes `raw_body`
    # holds; empty: the protocol's usual spelling. The two must get the same answer (`spellings_agree`).
    spelling: str = ""
    # The choices Hypothesis made to draw it (None: not drawn): what shrinking a failure of it starts from. Not part
    # of what is sent, so neither of its identity nor of its JSON.
    choices: tuple[Any, ...] | None = dataclasses.field(default=None, compare=False, repr=False)

    def key(self) -> tuple[Any, ...]:
        """Identity for de-duplication: the same bytes and headers are the same case."""
        return self._identity

    @functools.cached_property
    def _identity(self) -> tuple[Any, ...]:
        # Kept with the case (and pickled with it): a drawing process computes it, not the process that sends.
        body = self.raw_body if self.document is ABSENT else json.dumps(jsonable(self.document), sort_keys=True)
        spelled = (self.spelling, self.raw_body) if self.spelling else ()
        return (self.operation, self.category, body, self.headers, self.path, self.method, self.signing, *spelled)

    def usual(self) -> Case:
        """The case in its protocol's usual spelling (itself, when it is in it)."""
        return dataclasses.replace(self, raw_body=None, spelling="") if self.spelling else self

    def to_json(self) -> dict[str, Any]:
        """The case as it stands in a report."""
        data: dict[str, Any] = {"operation": self.operation, "category": self.category, "kind": self.kind.value,
                                "description": self.description}
        if self.document is not ABSENT:
            data["document"] = jsonable(self.document)
        if self.raw_body is not None:
            data["raw_body"] = self.raw_body.decode("latin-1")
        if self.headers:
            data["headers"] = {name: value for name, value in self.headers}
        if self.path:
            data["path"] = self.path
        if self.method:
            data["method"] = self.method
        if self.known_status:
            data["known_status"] = self.known_status
        if self.possible_statuses is not None:
            data["possible_statuses"] = sorted(self.possible_statuses)
        if self.signing != Signing.SIGV4:
            data["signing"] = str(self.signing)
        if self.spelling:
            data["spelling"] = self.spelling
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        """A case back from `to_json` (KeyError, TypeError or ValueError when `data` is not one)."""
        document = from_jsonable(data["document"]) if "document" in data else ABSENT
        job_id = document.get("JobId") if isinstance(document, dict) else None
        return cls(data["operation"], data["category"], Kind(data["kind"]), data["description"], document=document,
                   raw_body=data["raw_body"].encode("latin-1") if "raw_body" in data else None,
                   headers=tuple(data.get("headers", {}).items()), path=data.get("path"), method=data.get("method"),
                   job_id=job_id if isinstance(job_id, str) else None, known_status=data.get("known_status"),
                   possible_statuses=_statuses(data["possible_statuses"]) if "possible_statuses" in data else None,
                   signing=Signing(data.get("signing", Signing.SIGV4)), spelling=str(data.get("spelling", "")))


def _statuses(value: Any) -> frozenset[str]:
    """A report's `possible_statuses` back as a set; TypeError for anything but a list of strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"possible_statuses is not a list of strings: {value!r}")
    return frozenset(value)


def jsonable(value: Any) -> Any:
    """A document as JSON can hold it: CBOR byte strings and tags (rpcv2Cbor cases) spelled out."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, bytes):
        return {"cbor_bytes": value.hex()}
    if hasattr(value, "tag") and hasattr(value, "value"):  # cbor2.CBORTag
        return {"cbor_tag": value.tag, "value": jsonable(value.value)}
    return value


def from_jsonable(value: Any) -> Any:
    """The inverse of `jsonable`: CBOR byte strings and tags back from their JSON spelling."""
    if isinstance(value, dict):
        if set(value) == {"cbor_bytes"}:
            return bytes.fromhex(value["cbor_bytes"])
        if set(value) == {"cbor_tag", "value"}:
            import cbor2

            return cbor2.CBORTag(value["cbor_tag"], from_jsonable(value["value"]))
        return {key: from_jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_jsonable(item) for item in value]
    return value
