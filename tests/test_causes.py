"""Failures grouped by cause, and the short stable ID of a failing case."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.report.causes import CASE_ID_LENGTH, case_id_of

texts = st.text(max_size=12)
cases = st.fixed_dictionaries({"operation": st.sampled_from(["StopPiiEntitiesDetectionJob", "StopPHIDetectionJob"]),
                               "category": st.sampled_from(["valid.letters", "existing.stop", "invalid.type.null"]),
                               "kind": st.sampled_from(["unknown_job", "existing_job", "serialization"]),
                               "description": texts, "document": st.fixed_dictionaries({"JobId": texts})})


@given(cases, texts, st.sampled_from(["awsJson1_1", "rpcv2Cbor"]))
def test_a_case_id_is_short_hex_and_ignores_the_description_and_a_flow_s_job_id(case: dict, other: str,
                                                                                 protocol: str) -> None:
    found = case_id_of(case["operation"], protocol, case)
    assert len(found) == CASE_ID_LENGTH and int(found, 16) >= 0
    assert case_id_of(case["operation"], protocol, {**case, "description": other}) == found
    respelled = {**case, "document": {"JobId": other}}
    # A flow's JobId is the target's (another each run); any other case's JobId is what it tests.
    assert (case_id_of(case["operation"], protocol, respelled) == found) == \
        (case["kind"] == "existing_job" or other == case["document"]["JobId"])


@given(cases, st.sampled_from(["awsJson1_1", "rpcv2Cbor"]))
def test_another_protocol_or_category_is_another_case(case: dict, protocol: str) -> None:
    other_protocol = "rpcv2Cbor" if protocol == "awsJson1_1" else "awsJson1_1"
    assert case_id_of(case["operation"], protocol, case) != case_id_of(case["operation"], other_protocol, case)
    assert case_id_of(case["operation"], protocol, case) != \
        case_id_of(case["operation"], protocol, {**case, "category": case["category"] + ".other"})
