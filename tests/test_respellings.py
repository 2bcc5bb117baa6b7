"""Equivalent spellings, a metamorphic check: a document and any other legal spelling of it get one answer.

Properties of the plan (every valid case has a twin that is the same document; every change is sent
in every run; the categories still come first), of the check (it fails where the two answers differ
in status, error type or members, and nothing else), and of whole exchanges with the reference
server, faithful and faulty, over loopback; then what the reports show.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import cbor2
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.cases import ABSENT, Case, Kind
from conformance.cli import main
from conformance.engine.config import RunConfig
from conformance.engine.execute import execute
from conformance.engine.lanes import Lane
from conformance.engine.plan import plan
from conformance.engine.runner import run
from conformance.engine.transport import Transport
from conformance.generation.respellings import ALWAYS, SAMPLED, respelled, with_respellings
from conformance.generation.spellings import Spelling, spellings
from conformance.judging.check_results import NOT_APPLICABLE, PASSED, Failed
from conformance.judging.checks import CheckContext, Exchange, members, spellings_agree
from conformance.judging.oracle import expect
from conformance.model.operations import load_operations
from conformance.protocols import SUPPORTED, get_protocol
from conformance.reference import ReferenceServer
from conformance.reference.variants import build_app
from conformance.report import json_report, summarise
from conformance.report.terminal import format_failure
from conformance.targets.target import Target
from conformance.wire import spellings as wire_spellings
from conformance.wire.protocol_facts import ProtocolName
from conformance.wire.spellings import changes_of

OPERATIONS = load_operations()
PII = next(op for op in OPERATIONS if op.name == "StopPiiEntitiesDetectionJob")
LANES = [Lane(op, get_protocol(name)) for op in OPERATIONS for name in op.service.protocols if name in SUPPORTED]
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "report.schema.json").read_text(encoding="utf-8"))


def test_every_valid_case_is_followed_by_its_twin_which_is_the_same_document() -> None:
    config = RunConfig(Target("http://127.0.0.1:1"), max_examples=30, seed=8)
    for key, cases in plan(config, LANES, OPERATIONS).items():
        decode = cbor2.loads if key[1] is ProtocolName.RPC_V2_CBOR else json.loads
        usual = {case.key(): case for case in cases if not case.spelling}
        twins = [case for case in cases if case.spelling]
        assert twins and len(twins) < len(cases)
        for twin in twins:
            original = usual[twin.usual().key()]
            assert cases.index(original) < cases.index(twin)  # compared with an answer already there
            wire = get_protocol(key[1].value).encode(PII, original).body
            assert twin.kind in ALWAYS | SAMPLED and decode(twin.raw_body) == decode(wire) and twin.raw_body != wire
        respellable = [case for case in usual.values() if case.kind in ALWAYS and respelled(
            case, Spelling(key[1], changes_of(key[1]), 0, everywhere=True)) is not None]
        assert {case.key() for case in respellable} <= {twin.usual().key() for twin in twins}, key


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_run_makes_every_change_and_a_budget_still_meets_every_category_first(seed: int) -> None:
    config = RunConfig(Target("http://127.0.0.1:1"), max_examples=0, seed=seed)
    for key, cases in plan(config, LANES[:4], OPERATIONS).items():
        made = {change for case in cases if case.spelling for change in case.spelling.split(", ")}
        assert made == set(changes_of(key[1])), key
        categories = {case.category for case in cases}
        first = cases[:len(categories)]
        assert {case.category for case in first} == categories and not any(case.spelling for case in first)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**31), kinds=st.lists(st.sampled_from(list(Kind)), min_size=1, max_size=30))
def test_twins_are_seeded_and_only_of_documents(seed: int, kinds: list[Kind]) -> None:
    cases = [Case(PII.name, f"c{index % 5}", kind, "d", {"JobId": f"j{index}", "N": [index, 1.5]})
             for index, kind in enumerate(kinds)]
    for protocol in ProtocolName:
        first = list(with_respellings(iter(cases), protocol, seed))
        assert first == list(with_respellings(iter(cases), protocol, seed))
        assert [case for case in first if not case.spelling] == cases  # the originals, in their order
        assert all(twin.kind in ALWAYS | SAMPLED for twin in first if twin.spelling)
        assert sum(1 for twin in first if twin.spelling) >= sum(1 for case in cases if case.kind in ALWAYS)
    raw = Case(PII.name, "c", Kind.UNKNOWN_JOB, "d", raw_body=b"{}")
    assert list(with_respellings(iter([raw]), ProtocolName.AWS_JSON_1_1, seed)) == [raw]


def _answer(status: int, error_type: str | None, document: dict[str, Any]) -> Any:
    from conformance.protocols import Answer
    from conformance.wire.http import HttpResponse

    body = json.dumps(document).encode()
    return Answer(HttpResponse(status, {"content-type": "application/x-amz-json-1.1"}, body), document,
                  error_type=error_type)


def _context(answer: Any, usual: Any) -> CheckContext:
    case = Case(PII.name, "valid.letters", Kind.UNKNOWN_JOB, "d", {"JobId": "a"}, b'{"JobId":"\\u0061"}',
                spelling="escape all")
    protocol = get_protocol("awsJson1_1")
    request = protocol.encode(PII, case)
    return CheckContext(PII, case, request, answer, expect(PII, case), protocol,
                        None if usual is None else Exchange(request, usual))


def test_the_check_compares_status_error_type_and_members_and_nothing_else() -> None:
    not_found = _answer(400, "JobNotFoundException", {"__type": "JobNotFoundException", "Message": "no job a"})
    assert spellings_agree(_context(not_found, None)) is NOT_APPLICABLE
    reworded = _answer(400, "JobNotFoundException", {"__type": "x#JobNotFoundException", "message": "other words"})
    assert spellings_agree(_context(reworded, not_found)) is PASSED
    for differing in (_answer(404, "JobNotFoundException", {"Message": "m"}),
                      _answer(400, "ValidationException", {"Message": "m"}),
                      _answer(400, "JobNotFoundException", {"Message": "m", "Reason": "x"})):
        verdict = spellings_agree(_context(differing, not_found))
        assert isinstance(verdict, Failed) and "escape all" in verdict.message
    assert members({"JobProperties": {"JobId": "a", "Message": "m"}, "RequestId": "r"}) == {
        "JobProperties", "JobProperties.JobId"}


@pytest.fixture(scope="module")
def reference() -> Iterator[ReferenceServer]:
    with ReferenceServer() as server:
        yield server


@pytest.fixture(scope="module")
def long_heads_refused() -> Iterator[ReferenceServer]:
    with ReferenceServer(app=build_app("cbor_long_heads_refused")) as server:
        yield server


job_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
documents = st.fixed_dictionaries({"JobId": job_ids}, optional={"Other": st.integers() | st.text(max_size=5)})


def _exchange(server: ReferenceServer, protocol: ProtocolName, document: dict[str, Any], spelling: Spelling) \
        -> tuple[Any, Any] | None:
    """The usual spelling's result and the twin's, judged against the reference server over loopback."""
    case = Case(PII.name, "valid.mixed", Kind.UNKNOWN_JOB, "a drawn document", document, job_id=document["JobId"])
    twin = respelled(case, spelling)
    if twin is None:
        return None
    transport = Transport(Target(server.url))
    wire = get_protocol(protocol.value)
    usual = execute(PII, case, wire, transport)
    return usual, execute(PII, twin, wire, transport, usual=usual)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), document=documents)
def test_two_legal_spellings_of_one_document_get_one_answer(reference: ReferenceServer, data: st.DataObject,
                                                            document: dict[str, Any]) -> None:
    for protocol in ProtocolName:
        results = _exchange(reference, protocol, document, data.draw(spellings(protocol)))
        if results is None:
            continue
        usual, twin = results
        assert twin.usual is usual and twin.verdicts["spellings_agree"] is PASSED
        assert (twin.answer.status, twin.answer.error_type) == (usual.answer.status, usual.answer.error_type)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents, choices=st.integers(0, 2**32 - 1))
def test_a_reader_of_shortest_heads_only_is_caught_on_any_document(long_heads_refused: ReferenceServer,
                                                                    document: dict[str, Any], choices: int) -> None:
    spelling = Spelling(ProtocolName.RPC_V2_CBOR, ("long heads",), choices, everywhere=True)
    results = _exchange(long_heads_refused, ProtocolName.RPC_V2_CBOR, document, spelling)
    assert results is not None  # every document has heads that can be longer
    usual, twin = results
    assert isinstance(twin.verdicts["spellings_agree"], Failed)
    assert twin.answer.error_type == "SerializationException" != usual.answer.error_type


def test_a_spelling_fault_is_reported_with_both_exchanges_and_rerun_compares_again(tmp_path: Path,
                                                                                     capsys: Any) -> None:
    with ReferenceServer(app=build_app("json_white_space_refused")) as server:
        summary = summarise(run(RunConfig(Target(server.url), max_examples=0, seed=4, operations=(PII.name,),
                                          protocol="awsJson1_1", create_jobs=False)))
        records = [record for record in summary.failures if record.check == "spellings_agree"]
        assert records and all(record.usual is not None for record in records)
        record = records[0]
        assert "white space" in record.case["spelling"] and record.usual.actual is not None
        assert record.usual.actual.error_type != record.actual.error_type == "SerializationException"
        shown = format_failure(record)
        assert shown.count("usually:") == 2 and "(spelled with white space)" in shown
        data = json_report.build(summary)
        jsonschema.validate(data, SCHEMA)
        assert data["failures"][0]["usual"] or any(f["usual"] for f in data["failures"])
        tally = data["properties"][f"{PII.name} over awsJson1_1"]["respellings"]
        assert tally["sent"] == tally["judged"] > 0
        report = tmp_path / "report.json"
        json_report.write(summary, report)
        again = tmp_path / "again.json"
        code = main(["run", "--endpoint-url", server.url, "--rerun", str(report), "--report-json", str(again)])
    assert code == 1
    rerun = json.loads(again.read_text())
    compared = [failure for failure in rerun["failures"] if failure["check"] == "spellings_agree"]
    assert compared and all(failure["usual"] is not None for failure in compared)
    assert "usually:" in capsys.readouterr().out


def test_a_case_without_a_document_or_in_a_format_that_cannot_hold_it_has_no_twin() -> None:
    case = Case(PII.name, "valid.mixed", Kind.UNKNOWN_JOB, "d", {"JobId": float("nan")})
    assert respelled(case, Spelling(ProtocolName.AWS_JSON_1_1, ("white space",), 1, everywhere=True)) is None
    assert respelled(Case(PII.name, "x", Kind.UNKNOWN_JOB, "d"), Spelling(ProtocolName.RPC_V2_CBOR,
                                                                            ("long heads",), 1)) is None
    one_member = Case(PII.name, "valid.mixed", Kind.UNKNOWN_JOB, "d", {"JobId": "a"})
    assert respelled(one_member, Spelling(ProtocolName.AWS_JSON_1_1, ("member order",), 1, everywhere=True)) is None
    assert one_member.usual() is one_member and one_member.document is not ABSENT


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text() | st.integers() | st.booleans() | st.none(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=6),
       st.sets(st.sampled_from(wire_spellings.JSON_CHANGES)), st.integers(0, 2**32 - 1), st.booleans())
def test_the_json_writer_s_fast_path_writes_what_a_character_by_character_writer_does(
        document: object, changes: set[str], choices: int, everywhere: bool) -> None:
    fast = wire_spellings.write(ProtocolName.AWS_JSON_1_1, document, changes, choices, everywhere)
    slow_string = lambda self, value: "".join(self._char(char) for char in value)  # noqa: E731 - the reference
    with mock.patch.object(wire_spellings._JsonWriter, "_string", slow_string):
        assert fast == wire_spellings.write(ProtocolName.AWS_JSON_1_1, document, changes, choices, everywhere)
