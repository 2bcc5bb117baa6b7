"""`conformance diff` and the comparable form of an answer it shares with `run --recording`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cases import Case, Kind
from conformance.cli import main
from conformance.judging.answer_forms import answer_form
from conformance.judging.check_results import NOT_APPLICABLE, PASSED, Failed
from conformance.judging.checks import REGISTRY, CheckContext, Recorded
from conformance.judging.oracle import expect
from conformance.model.operations import load_operations
from conformance.protocols import get_protocol
from conformance.reference import ReferenceServer
from conformance.reference.variants import VARIANTS, build_app
from conformance.wire import spellings
from conformance.wire.http import HttpRequest, HttpResponse
from conformance.wire.protocol_facts import ProtocolName

JSON, CBOR = ProtocolName.AWS_JSON_1_1, ProtocolName.RPC_V2_CBOR
MEDIA = {JSON: "application/x-amz-json-1.1", CBOR: "application/cbor"}
names = st.sampled_from(["JobId", "JobStatus", "Other", "Nested"])
values = st.recursive(st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
                      max_leaves=8)
documents = st.dictionaries(names, values, max_size=4)
error_types = st.sampled_from(["ValidationException", "JobNotFoundException", "InvalidRequestException"])


def decoded(protocol: ProtocolName, status: int, document: dict, changes: tuple[str, ...] = (),
            headers: dict[str, str] | None = None) -> object:
    body = spellings.write(protocol, document, changes, everywhere=True)
    marker = {"smithy-protocol": "rpc-v2-cbor"} if protocol is CBOR else {}
    response = HttpResponse(status, {"content-type": MEDIA[protocol], **marker, **(headers or {})}, body)
    return get_protocol(protocol.value).decode(response)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([JSON, CBOR]), documents, error_types, st.booleans(),
       st.text(min_size=1, max_size=10).filter(str.strip), st.data())  # a message of white space alone is none
def test_two_legal_spellings_of_one_answer_have_one_form(protocol: ProtocolName, document: dict, error: str,
                                                        is_error: bool, message: str, data: st.DataObject) -> None:
    status = 400 if is_error else 200
    one, other = dict(document), dict(document)
    if is_error:  # a bare type and a namespaced one with a suffix; `message` and `Message`, worded otherwise
        one.update({"__type": error, "message": message})
        other.update({"__type": f"com.amazonaws.comprehend#{error}:http://internal", "Message": message + "!"})
    changes = tuple(data.draw(st.sets(st.sampled_from(spellings.changes_of(protocol)))))
    framing = data.draw(st.sampled_from([{"transfer-encoding": "chunked"}, {"content-length": "1"}]))
    assert answer_form(decoded(protocol, status, one)) == answer_form(
        decoded(protocol, status, other, changes, {**framing, "x-amzn-requestid": "another", "date": "now"}))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([JSON, CBOR]), documents, error_types, error_types, st.sampled_from([400, 404]), st.data())
def test_an_answer_of_another_status_type_or_shape_never_has_the_same_form(
        protocol: ProtocolName, document: dict, error: str, other_error: str, status: int, data: st.DataObject) -> None:
    base = answer_form(decoded(protocol, status, {**document, "__type": error, "message": "m"}))
    assert base != answer_form(decoded(protocol, 500 if status == 400 else 400, {**document, "__type": error,
                                                                                 "message": "m"}))
    if other_error != error:
        assert base != answer_form(decoded(protocol, status, {**document, "__type": other_error, "message": "m"}))
    name = data.draw(st.sampled_from(["Added", "Extra"]))
    assert base != answer_form(decoded(protocol, status, {**document, name: 1, "__type": error, "message": "m"}))
    if document:  # a member of another type
        member = sorted(document)[0]
        changed = [] if not isinstance(document[member], list) else {}
        assert base != answer_form(decoded(protocol, status, {**document, member: changed, "__type": error,
                                                              "message": "m"}))


def diff(first: str, *more: str) -> tuple[int, str]:
    return main(["diff", "--endpoint-url", first, *more, "--max-examples", "2", "--seed", "3",
                 "--protocol", "awsJson1_1"]), ""


def test_the_reference_server_against_itself_differs_in_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with ReferenceServer() as one, ReferenceServer() as other:
        status, _ = diff(one.url, "--against-endpoint-url", other.url)
    out = capfd.readouterr().out
    assert status == 0 and "no difference in" in out


def test_a_variant_shows_its_deviations_grouped_by_category(capfd: pytest.CaptureFixture[str]) -> None:
    with ReferenceServer() as one, ReferenceServer(app=build_app("not_found_404")) as other:
        status, _ = diff(one.url, "--against-endpoint-url", other.url)
    out = capfd.readouterr().out
    assert status == 1 and "\nvalid.mixed:" in out and "status 400 -> 404" in out
    assert "invalid.length" not in out  # only the cases the variant answers otherwise
    assert VARIANTS["not_found_404"].legal  # no oracle: a legal difference is a difference too


def test_moto_against_the_reference_server_is_grouped_by_cause(tmp_path: Path,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("moto")
    table = tmp_path / "moto.md"
    with ReferenceServer() as reference:
        status = main(["diff", "--endpoint-url", reference.url, "--against-target", "moto", "--max-examples", "2",
                       "--seed", "3", "--report-markdown", str(table)])
    assert status == 1
    rows = [line for line in table.read_text().splitlines() if line.startswith("| ") and "what differs" not in line]
    assert len(rows) >= 3 and any("error type JobNotFoundException -> ResourceNotFoundException" in row for row in rows)
    counts = [int(row.split(" | ")[-2]) for row in rows]
    assert counts == sorted(counts, reverse=True)
    assert json.dumps(capfd.readouterr().out).count("moto") >= 1


STATUSES = st.sampled_from(["SUBMITTED", "IN_PROGRESS", "STOP_REQUESTED", "STOPPED", "COMPLETED"])


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([JSON, CBOR]), STATUSES, STATUSES, st.booleans(), st.booleans(), st.booleans())
def test_a_job_status_timing_put_elsewhere_is_a_choice_and_any_other_difference_is_not(
        protocol: ProtocolName, recorded_status: str, actual_status: str, oracle_allows: bool, statuses_allowed: bool,
        other_member_differs: bool) -> None:
    # A replay cannot repeat timing: a job status both sides' lifecycle checks allow is the recording's choice, even
    # where another check fails the answer (a fault variant's missing request id must not blame the job's status).
    recorded = answer_form(decoded(protocol, 200, {"JobId": "a", "JobStatus": recorded_status}))
    actual_document = {"JobId": "b" if other_member_differs else "a", "JobStatus": actual_status}
    said = Recorded(recorded, conformed=True, oracle_allows=oracle_allows, statuses_allowed=statuses_allowed)
    operation = next(op for op in load_operations() if op.name == "StopPiiEntitiesDetectionJob")
    case = Case(operation.name, "existing.stop", Kind.EXISTING_JOB, "a stop")
    ctx = CheckContext(operation, case, HttpRequest("POST", "/", {}, b""), decoded(protocol, 200, actual_document),
                       expect(operation, case), get_protocol(protocol.value), recorded=said)
    verdict, choice = REGISTRY["recording"].function(ctx), REGISTRY["recording_choice"].function(ctx)
    if recorded_status == actual_status and not other_member_differs:
        assert verdict is PASSED and choice is PASSED
    elif oracle_allows or (statuses_allowed and not other_member_differs):
        assert verdict is PASSED and isinstance(choice, Failed)
    else:
        assert isinstance(verdict, Failed) and choice is NOT_APPLICABLE
