"""Published protocol test vectors (tests/vectors/*.json), run over the suite's decoders and the reference server.

Modelled on botocore's tests/unit/test_protocols.py: one data file per protocol, one runner. The
vectors come from Smithy's protocol tests, smithy-rs's rpcv2Cbor extras and botocore's copies, each
with its source and commit; those that do not concern the two Stop operations are kept with the
reason (see `test_not_applicable_vectors_have_reasons`). Each file's `format` member describes the
fields.

Kinds, one test function each:
- error_decode: an error answer through `conformance.protocols` decoders: type, source, message.
- request: a request sent over HTTP to the reference server, once per operation, and the answer
  the vector implies (not-found, validation or serialization error).
- output_decode: a success answer with a string member through the decoders.

Run one vector: ``pytest tests/test_vectors.py -k <id>`` (a substring match: `-k empty_input` also
runs empty_input_no_body), or exactly one: ``CONFORMANCE_VECTOR=<id> pytest tests/test_vectors.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance.protocols import SUPPORTED, Answer, get_protocol
from conformance.reference import ReferenceServer
from conformance.wire.http import HttpResponse

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"
SELECT_ENV = "CONFORMANCE_VECTOR"
KINDS = ("error_decode", "request", "output_decode")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
# A Smithy absolute shape id: a dotted namespace, '#', a shape name.
ABSOLUTE_SHAPE_ID = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*#"


@dataclass(frozen=True)
class Operation:
    """One Stop operation as PROTOCOL_NOTES §1 states it."""

    name: str
    target_prefix: str
    not_found_error: str


# Stated here rather than read from the suite's model, so that the vectors check the model too.
OPERATIONS = (
    Operation("StopPiiEntitiesDetectionJob", "Comprehend_20171127", "JobNotFoundException"),
    Operation("StopPHIDetectionJob", "ComprehendMedical_20181030", "ResourceNotFoundException"),
)


@dataclass(frozen=True)
class Outcome:
    """An answer a request vector implies: the statuses allowed and the error type (None: the operation's not-found)."""

    statuses: frozenset[int]
    error_type: str | None


OUTCOMES = {
    # A valid JobId of no job: 400 in the API reference, 404 in botocore's model (PROTOCOL_NOTES §1).
    "not_found": Outcome(frozenset({400, 404}), None),
    # JobId is required: a body without it is a validation error, never a serialization error.
    "validation": Outcome(frozenset({400}), "ValidationException"),
    "serialization": Outcome(frozenset({400}), "SerializationException"),
}


@dataclass(frozen=True)
class Vector:
    """One vector of a data file, with the protocol and file it belongs to."""

    id: str
    protocol: str
    file: str
    data: dict[str, Any]

    @property
    def applies(self) -> bool:
        """Whether the vector concerns the two Stop operations."""
        return bool(self.data.get("applies"))

    @property
    def kind(self) -> str | None:
        """error_decode, request or output_decode; None for a vector that does not apply."""
        return self.data.get("kind")


def load_files() -> dict[str, dict[str, Any]]:
    """Every data file under tests/vectors/, by file name."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(VECTOR_DIR.glob("*.json"))}


FILES = load_files()
VECTORS = [Vector(entry["id"], content["protocol"], name, entry)
           for name, content in FILES.items() for entry in content["vectors"]]


def selected(kind: str) -> list[Vector]:
    """The applicable vectors of one kind; only the one named by $CONFORMANCE_VECTOR when it is set."""
    wanted = os.environ.get(SELECT_ENV)
    return [v for v in VECTORS if v.applies and v.kind == kind and (not wanted or v.id == wanted)]


def body_of(fields: dict[str, Any]) -> bytes:
    """The body a vector gives as UTF-8 text or hex."""
    if "body_hex" in fields:
        return bytes.fromhex(fields["body_hex"])
    return str(fields.get("body_text", "")).encode("utf-8")


def decode(vector: Vector) -> Answer:
    """The vector's answer through the suite's decoder for its protocol."""
    response = vector.data["response"]
    headers = {name.lower(): value for name, value in response["headers"].items()}
    return get_protocol(vector.protocol).decode(HttpResponse(response["status"], headers, body_of(response)))


def send(url: str, method: str, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
    """One request on its own connection, bytes as given (http.client adds Host, Accept-Encoding, Content-Length)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return HttpResponse(answer.status, {name.lower(): value for name, value in answer.getheaders()},
                            answer.read())
    finally:
        connection.close()


def ids(vectors: list[Vector]) -> list[str]:
    """Test ids: the vector ids."""
    return [vector.id for vector in vectors]


@pytest.fixture(scope="module")
def vector_server() -> Iterator[ReferenceServer]:
    """One reference server for every request vector of the module; no test starts a job, so every JobId is unknown."""
    with ReferenceServer() as server:
        yield server


# ---- the data files ---------------------------------------------------------------------------


def test_vector_files_name_their_sources() -> None:
    """Every file names its protocol and sources; every vector's source is one of them, at a commit, with an id."""
    assert FILES, f"no vector files in {VECTOR_DIR}"
    for name, content in FILES.items():
        assert content.get("protocol") in SUPPORTED, f"{name}: protocol {content.get('protocol')!r}"
        sources = content.get("sources") or []
        assert sources, f"{name} names no sources"
        listed = set()
        for source in sources:
            assert source.get("repository") and source.get("path"), f"{name}: incomplete source {source}"
            assert COMMIT.match(source.get("commit", "")), f"{name}: source {source['path']} has no commit"
            listed.add((source["repository"], source["commit"], source["path"]))
        for entry in content["vectors"]:
            for source in [entry.get("source", {}), *entry.get("also_in", [])]:
                where = (source.get("repository"), source.get("commit"), source.get("path"))
                assert where in listed, f"{name}: {entry.get('id')} cites {where}, not among the file's sources"
                assert source.get("id"), f"{name}: {entry.get('id')} has a source without the upstream id"


def test_vector_ids_are_unique() -> None:
    """Ids are unique across files, so that $CONFORMANCE_VECTOR names one vector."""
    seen: dict[str, str] = {}
    for vector in VECTORS:
        assert vector.id not in seen, f"{vector.id} is in {seen[vector.id]} and {vector.file}"
        seen[vector.id] = vector.file


def test_applicable_vectors_are_complete() -> None:
    """An applicable vector has a kind, says how it was adapted, and has the input and expectation its kind needs."""
    for vector in (v for v in VECTORS if v.applies):
        data, where = vector.data, f"{vector.file}: {vector.id}"
        assert vector.kind in KINDS, f"{where}: kind {vector.kind!r}"
        assert str(data.get("adapted", "")).strip(), f"{where} does not say how it was adapted"
        assert data.get("expect"), f"{where} has no expectation"
        if vector.kind == "request":
            assert data["expect"].get("outcome") in OUTCOMES, f"{where}: outcome {data['expect'].get('outcome')!r}"
            assert {"method", "path", "headers"} <= set(data.get("request", {})), f"{where}: incomplete request"
        else:
            assert {"status", "headers"} <= set(data.get("response", {})), f"{where}: incomplete response"


def test_not_applicable_vectors_have_reasons() -> None:
    """List the vectors that do not concern the two operations (run with -s to see them); each says why."""
    skipped = [v for v in VECTORS if not v.applies]
    for vector in skipped:
        reason = str(vector.data.get("reason", "")).strip()
        print(f"{vector.protocol:10} {vector.id}: {reason}")
        assert reason, f"{vector.file}: {vector.id} does not apply and gives no reason"
    print(f"{len(skipped)} of {len(VECTORS)} vectors do not apply")


def test_selected_vector_exists() -> None:
    """$CONFORMANCE_VECTOR, when set, names a vector (otherwise every vector test would be silently deselected)."""
    wanted = os.environ.get(SELECT_ENV)
    if not wanted:
        pytest.skip(f"{SELECT_ENV} is not set")
    match = [v for v in VECTORS if v.id == wanted]
    assert match, f"{SELECT_ENV}={wanted!r} names no vector"
    if not match[0].applies:
        print(f"{wanted} does not apply: {match[0].data.get('reason')}")


# ---- the vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", selected("error_decode"), ids=ids(selected("error_decode")))
def test_error_decode(vector: Vector) -> None:
    """An error answer: the decoder resolves the type, where it found it, botocore's reading, and the message."""
    answer = decode(vector)
    expected = vector.data["expect"]
    found = {name: getattr(answer, name) for name in expected}
    assert found == expected, f"{vector.id}: decoded {found}, expected {expected} ({vector.data.get('expect_notes')})"


@pytest.mark.parametrize("vector", selected("output_decode"), ids=ids(selected("output_decode")))
def test_output_decode(vector: Vector) -> None:
    """A success answer: the decoder reads the document, unknown members and all, and JobId's value."""
    answer = decode(vector)
    expected = vector.data["expect"]
    assert not answer.is_error
    assert answer.decode_error == expected.get("decode_error"), f"{vector.id}: {answer.decode_error}"
    if "document" in expected:
        assert answer.document == expected["document"]
    for member, value in expected.get("members", {}).items():
        assert isinstance(answer.document, dict) and answer.document.get(member) == value, \
            f"{vector.id}: {member} decoded as {answer.document!r}"


@pytest.mark.parametrize(("vector", "operation"), [
    pytest.param(vector, operation, id=f"{vector.id}-{operation.name}")
    for vector in selected("request") for operation in OPERATIONS
])
def test_request(vector: Vector, operation: Operation, vector_server: ReferenceServer) -> None:
    """A request to the reference server gets the answer the vector implies, in the vector's protocol."""
    request, expected = vector.data["request"], vector.data["expect"]

    def fill(text: str) -> str:
        return text.format(target_prefix=operation.target_prefix, operation=operation.name)

    headers = {name: fill(value) for name, value in request["headers"].items()}
    response = send(vector_server.url, request["method"], fill(request["path"]), headers, body_of(request))
    answer = get_protocol(vector.protocol).decode(response)
    outcome = OUTCOMES[expected["outcome"]]
    wanted_type = outcome.error_type or operation.not_found_error
    got = f"{answer.status} {answer.error_type} {answer.message!r} (body {response.body[:200]!r})"
    if vector.protocol == "rpcv2Cbor":
        # Every rpcv2Cbor response carries the header, errors included (PROTOCOL_NOTES §3); checked
        # first because without it the decoder judges the answer on its status alone.
        assert response.header("Smithy-Protocol") == "rpc-v2-cbor", \
            f"{vector.id}: no Smithy-Protocol: rpc-v2-cbor in the answer's headers {response.headers}; {got}"
    assert answer.decode_error is None, f"{vector.id}: the answer does not decode: {answer.decode_error}; {got}"
    assert answer.status in outcome.statuses and answer.error_type == wanted_type, \
        f"{vector.id}: expected {sorted(outcome.statuses)} {wanted_type}, got {got}"
    if "message_contains" in expected:
        assert expected["message_contains"] in (answer.message or ""), f"{vector.id}: {got}"
    if expected.get("type_is_absolute_shape_id"):
        raw_type = answer.document.get("__type") if isinstance(answer.document, dict) else None
        assert isinstance(raw_type, str) and re.fullmatch(ABSOLUTE_SHAPE_ID + re.escape(wanted_type), raw_type), \
            f"{vector.id}: __type {raw_type!r} is not an absolute shape id of {wanted_type}"
