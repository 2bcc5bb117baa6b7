"""Job identity as a property: a string that is not the job's id never names the job, and the id in
another legal spelling of the wire still does. Properties of the near misses drawn, of the spellings
written, and of the budget's share for them; then whole runs against the reference server."""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.engine.budget import NEAR_MISS_SHARE, allocate
from conformance.engine.config import LifecycleConfig, RunConfig
from conformance.engine.lanes import Lane
from conformance.engine.phases.flows import DRAWN
from conformance.engine.runner import run
from conformance.generation.near_misses import (
    FAMILIES,
    INVISIBLE,
    OTHER_JOB,
    PROBES,
    category_of,
    drawn_near_misses,
    sendable,
)
from conformance.generation.spellings import CBOR_CHANGES, JSON_CHANGES, Spelling, same_id_spelling, spellings
from conformance.model.job_ids import could_be_real_job_id
from conformance.model.operations import load_operations
from conformance.protocols import get_protocol
from conformance.reference import ReferenceServer
from conformance.report import summarise
from conformance.targets.target import Target
from conformance.wire.protocol_facts import ProtocolName

PII = "StopPiiEntitiesDetectionJob"
real_ids = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
# Ids of other forms, as a reimplementation may give: any characters the JobId pattern allows, 1 to 64 of them.
other_ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FFFF,
                                           blacklist_categories=("Cs",)), min_size=1, max_size=64)


@settings(max_examples=60, deadline=None)
@given(job_id=st.one_of(real_ids, other_ids), others=st.lists(real_ids, max_size=3), seed=st.integers(0, 2**31),
       count=st.integers(0, 24))
def test_a_drawn_near_miss_is_never_the_id_and_never_a_stranger_of_the_real_form(job_id: str, others: list[str],
                                                                                  seed: int, count: int) -> None:
    drawn = drawn_near_misses(job_id, others, count, seed)
    values = [value for _, value in drawn]
    assert len(values) == len(set(values)) <= count and job_id not in values
    for category, value in drawn:
        assert sendable(value, job_id, others), (category.name, value)
        # Of the real form only as the id's own letter case or one of the run's other jobs: nobody else's job.
        assert not could_be_real_job_id(value) or value.lower() == job_id.lower() or value in others
        assert category.name.startswith("near_miss.")
    # The same seed and ids give the same near misses: a run can be repeated, and its plan shown.
    assert drawn == drawn_near_misses(job_id, others, count, seed)


@settings(max_examples=40, deadline=None)
@given(job_id=real_ids, others=st.lists(real_ids, min_size=1, max_size=2), seed=st.integers(0, 2**31))
def test_every_kind_is_drawn_first_and_each_is_the_transformation_it_is_named_for(job_id: str, others: list[str],
                                                                                   seed: int) -> None:
    drawn = drawn_near_misses(job_id, others, len(PROBES) + 1, seed)
    kinds = [category.name for category, _ in drawn]
    # Duplicates aside (a kind may draw a value another kind gave), one of each kind comes first, in order.
    expected = dict.fromkeys([category_of(family).name for family, _ in PROBES] + [category_of(OTHER_JOB).name])
    assert [kind for kind in expected if kind in kinds] == list(dict.fromkeys(kinds))
    # Every family has values for a real-form id (letter case where it has letters), and the others' ids come in.
    assert len(set(kinds)) >= len(FAMILIES) - (job_id.isdigit()) + (set(others) != {job_id})
    for category, value in drawn:
        family = category.name.removeprefix("near_miss.")
        if family == "case":
            assert value.lower() == job_id or unicodedata.normalize("NFKC", value).casefold() == job_id
        elif family == "normalization":
            assert unicodedata.normalize("NFKC", value) == job_id
        elif family == "look_alike":
            assert len(value) == len(job_id) and value != job_id
        elif family == "invisible":
            assert "".join(char for char in value if char not in INVISIBLE) == job_id
        elif family == "truncated":
            assert len(value) == len(job_id) - 1 or value in job_id
        elif family == "extended":
            assert len(value) > len(job_id)
        elif family == OTHER_JOB:
            assert value in others


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(), lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
documents = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


@settings(max_examples=200, deadline=None)
@given(document=documents, spelling=spellings(ProtocolName.AWS_JSON_1_1))
def test_a_json_spelling_is_the_same_document(document: dict[str, Any], spelling: Spelling) -> None:
    text = spelling.write(document)
    assert json.loads(text) == document
    if "escape all" in spelling.changes or "escape non-ASCII" in spelling.changes:
        assert text.isascii()


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64 - 1) | st.floats(allow_nan=False) | st.text()
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(document=st.dictionaries(st.text(max_size=10), cbor_values, max_size=5),
       spelling=spellings(ProtocolName.RPC_V2_CBOR))
def test_a_cbor_spelling_is_the_same_document(document: dict[str, Any], spelling: Spelling) -> None:
    decoded = cbor2.loads(spelling.write(document))
    assert decoded == document
    assert _same_types(decoded, document)  # a short float is still a float, an integer still an integer


def _same_types(left: Any, right: Any) -> bool:
    if isinstance(left, dict):
        return all(_same_types(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return all(_same_types(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and (not isinstance(left, float) or math.copysign(1, left) == math.copysign(
        1, right))


def test_each_change_alone_changes_the_bytes_and_not_the_document() -> None:
    document = {"JobId": "a/é𝄞" * 3, "Numbers": [1, 300, 70000, 2**40, -5, 1.5], "Nested": {"Text": "x" * 30}}
    usual = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    for change in JSON_CHANGES:
        written = Spelling(ProtocolName.AWS_JSON_1_1, (change,), 3).write(document)
        assert json.loads(written) == document and written != usual, change
    document["Nested"]["Blob"] = b"ab"
    for change in CBOR_CHANGES:
        written = Spelling(ProtocolName.RPC_V2_CBOR, (change,), 3).write(document)
        assert cbor2.loads(written) == document and written != cbor2.dumps(document), change


@settings(max_examples=50, deadline=None)
@given(job_id=st.one_of(real_ids, other_ids))
def test_the_same_id_spelling_is_the_id_in_other_bytes(job_id: str) -> None:
    for protocol, loads, usual in ((ProtocolName.AWS_JSON_1_1, json.loads, lambda doc: json.dumps(doc).encode()),
                                   (ProtocolName.RPC_V2_CBOR, cbor2.loads, cbor2.dumps)):
        written = same_id_spelling(protocol).write({"JobId": job_id})
        assert loads(written) == {"JobId": job_id} and written != usual({"JobId": job_id})


@settings(max_examples=200, deadline=None)
@given(left=st.one_of(st.none(), st.integers(0, 5000)), flows=st.integers(0, 4), flow_requests=st.integers(0, 200),
       auth_requests=st.integers(0, 80), wanted=st.integers(0, 1000), first_pass=st.integers(0, 300))
def test_drawn_near_misses_take_at_most_their_share_of_what_flows_auth_and_a_first_pass_leave(
        left: int | None, flows: int, flow_requests: int, auth_requests: int, wanted: int, first_pass: int) -> None:
    lanes = [Lane(op, get_protocol("awsJson1_1")) for op in load_operations()[:3]]
    allocation = allocate(left, lanes, flow_requests * (flows > 0), auth_requests, 2 * flows, wanted, first_pass=first_pass)
    if left is None:
        assert allocation.near_misses is None and allocation.cases_per_lane == {lane.key: None for lane in lanes}
        return
    drawn = allocation.near_misses or 0
    assert 0 <= drawn <= wanted and (drawn == 0 or allocation.flows)
    after = left - (flow_requests if allocation.flows else 0) - (auth_requests if allocation.auth else 0)
    spare = max(after - first_pass, 0)  # the cases' first pass comes before any drawn near miss
    assert drawn * 2 * flows <= spare * NEAR_MISS_SHARE
    cases = sum(quota or 0 for quota in allocation.cases_per_lane.values())
    assert cases + drawn * 2 * flows == after and cases >= min(first_pass, after)  # nothing left over or spent twice
    if allocation.flows and flows and drawn < wanted:  # fewer than asked: one more would pass the share
        assert (drawn + 1) * 2 * flows > spare * NEAR_MISS_SHARE


@pytest.mark.parametrize("protocol", ["awsJson1_1", "rpcv2Cbor"])
def test_a_run_draws_near_misses_none_names_the_job_and_the_respelled_id_does(
        protocol: str, live_reference_server: ReferenceServer) -> None:
    config = RunConfig(Target(live_reference_server.url), max_examples=0, seed=3, operations=(PII,),
                       protocol=protocol, near_misses=12, lifecycle=LifecycleConfig(settle_timeout=5))
    result = run(config)
    summary = summarise(result)
    assert summary.conforms, summary.failures[:1]
    drawn = [r for r in result.results if r.case.category in DRAWN]
    assert len(drawn) == 2 * 12 and all(r.answer and 400 <= r.answer.status < 500 and r.verdicts for r in drawn)
    assert {r.operation.name for r in drawn} == {PII, "DescribePiiEntitiesDetectionJob"}
    respelled = [r for r in result.results if r.case.category == "existing.respelled"]
    assert len(respelled) == 1 and respelled[0].answer is not None and respelled[0].answer.status == 200
    assert respelled[0].case.raw_body is not None and respelled[0].case.job_id.encode() not in \
        respelled[0].case.raw_body or protocol == "rpcv2Cbor"


def test_near_misses_follow_the_flag_and_none_are_drawn_at_zero(live_reference_server: ReferenceServer) -> None:
    counts = {}
    for wanted in (0, 3):
        config = RunConfig(Target(live_reference_server.url), max_examples=0, seed=5, operations=(PII,),
                           protocol="awsJson1_1", near_misses=wanted, lifecycle=LifecycleConfig(settle_timeout=5))
        results = run(config).results
        counts[wanted] = sum(1 for r in results if r.case.category in DRAWN)
    assert counts == {0: 0, 3: 6}
