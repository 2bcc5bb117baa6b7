"""Case families only rpcv2Cbor can express: CBOR-only bodies and types, indefinite lengths, rpcv2 routing."""

from __future__ import annotations

from string import ascii_lowercase, ascii_uppercase
from typing import Any

import cbor2
from hypothesis import strategies as st

from conformance.cases import Case, Kind, kind_of
from conformance.generation.strategies.alphabet import ascii_text, joined
from conformance.generation.strategies.bodies import Family, Members, raw_family, request_family
from conformance.generation.strategies.strings import position
from conformance.model.operations import Operation
from conformance.wire.protocol_facts import rpcv2_path

MALFORMED_CBOR = (
    b"\xa1\x65JobId",  # a map whose value is missing
    b"\xa1\x65JobId\x63ab",  # a text string cut short
    b"\xff",  # a break outside any indefinite-length item
    b"\xbf\x65JobId\x61a",  # an indefinite map with no break
    b"\xa1\x65JobId\x61a\x00",  # a whole map, then a trailing byte
    b"\x1c",  # reserved additional information
    b"\x7f\x41a\xff",  # an indefinite text string with a byte-string chunk
)
INVALID_UTF8 = (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82")
INVALID_UTF8_BYTES = st.sampled_from(INVALID_UTF8)


def indefinite(document: dict[str, Any]) -> bytes:
    """A map and its text strings in indefinite-length form (cbor2 only writes definite lengths)."""
    def text(value: str) -> bytes:
        half = len(value) // 2
        return b"\x7f" + cbor2.dumps(value[:half]) + cbor2.dumps(value[half:]) + b"\xff"
    out = b"\xbf"
    for key, value in document.items():
        out += text(key) + (text(value) if isinstance(value, str) else cbor2.dumps(value))
    return out + b"\xff"


def families(operation: Operation, all_operations: list[Operation]) -> list[Family]:
    """CBOR-only bodies and types, definite and indefinite forms, and the rpcv2 routing rules."""
    members = Members.of(operation)
    name = operation.name
    member = members.required[0]  # the member whose CBOR types are varied

    def family(category: str, text: str, cases: st.SearchStrategy[Case]) -> Family:
        return Family(category, kind_of(category), text, cases)

    others_base = members.base(replace=member)
    base = members.base()

    def with_member(category: str, text: str, values: st.SearchStrategy[Any]) -> Family:
        @st.composite
        def build(draw: st.DrawFn) -> Case:
            return Case(name, category, kind_of(category), text, document={**draw(others_base), member: draw(values)})
        return family(category, text, build())

    def valid_indefinite(draw_document: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Case]:
        text = "a valid JobId in an indefinite-length map of indefinite-length strings"
        return draw_document.map(lambda document: Case(name, "valid.cbor_indefinite", Kind.UNKNOWN_JOB, text,
                                                       raw_body=indefinite(document), job_id=document.get("JobId")))

    @st.composite
    def invalid_utf8(draw: st.DrawFn) -> bytes:
        value = draw(base)[member].encode("utf-8")
        at = position(draw, len(value))
        broken = value[:at] + draw(INVALID_UTF8_BYTES) + value[at:]
        # A one-member map whose text string (major type 3, 1-byte length) holds the bad bytes.
        return b"\xa1" + cbor2.dumps(member) + bytes([0x78, len(broken)]) + broken

    prefix = operation.service.target_prefix
    others = operation.other_target_prefixes(all_operations) or [prefix + "x"]
    namespace = operation.service.namespace
    undefined = b"\xa1" + cbor2.dumps(member) + b"\xf7"  # {member: undefined}, which MUST read as null

    def routed(category: str, text: str, paths: st.SearchStrategy[str | None] = st.none(), **changes: Any) -> Family:
        return request_family(operation, category, text, paths=paths, **changes)

    return [
        raw_family(name, "invalid.body.empty", "no body at all", st.just(b"")),
        raw_family(name, "invalid.body.malformed_cbor", "malformed CBOR", st.sampled_from(MALFORMED_CBOR)),
        raw_family(name, "invalid.body.invalid_utf8", "a CBOR text string that is not UTF-8", invalid_utf8()),
        raw_family(name, "invalid.required.missing", "the empty map in indefinite-length form",
                   st.just(b"\xbf\xff")),
        with_member("invalid.type.bytes", "JobId is a CBOR byte string",
                    members.spaces[member].valid().map(lambda labelled: labelled[2].encode("utf-8"))),
        with_member("invalid.type.tag", "JobId is a tagged value",
                    st.sampled_from([cbor2.CBORTag(1, 1700000000), cbor2.CBORTag(255, "job-1"),
                                     cbor2.CBORTag(32, "https://example.com/")])),
        family("valid.cbor_indefinite", "a valid JobId in indefinite-length form", valid_indefinite(base)),
        raw_family(name, "invalid.required.undefined", "JobId is CBOR undefined, which MUST read as null",
                   st.just(undefined)),
        routed("protocol.target_header", "X-Amz-Target sent on the rpcv2 path",
               headers=st.sampled_from([(("X-Amz-Target", operation.target),), (("X-Amzn-Target", operation.target),)])),
        routed("protocol.path.unknown_operation", "the path names no operation of the service",
               # (NoSuch|Describe)[A-Z][a-z]{2,10}Job
               joined(st.sampled_from(["NoSuch", "Describe"]), ascii_text(ascii_uppercase, 1, 1),
                      ascii_text(ascii_lowercase, 2, 10), st.just("Job")).map(lambda op: rpcv2_path(prefix, op))),
        routed("protocol.path.wrong_service", "the path names another service",
               st.sampled_from(others).map(lambda service: rpcv2_path(service, name))),
        routed("protocol.path.absolute_operation", "the operation segment is an absolute shape id (MUST NOT route)",
               st.sampled_from([f"{namespace}%23{name}", f"{namespace}.{name}"]).map(lambda op: rpcv2_path(prefix, op))),
        routed("valid.absolute_service", "the service segment is the absolute service id, '.' for '#' (SHOULD route)",
               st.just(rpcv2_path(f"{namespace}.{prefix}", name))),
        # The claim rules: a request without rpcv2Cbor's markers is not the service's to serve.
        routed("protocol.unclaimed.no_smithy_protocol", "no Smithy-Protocol header",
               headers=st.just((("Smithy-Protocol", None),))),
        routed("protocol.unclaimed.wrong_content_type", "a Content-Type other than application/cbor",
               headers=st.sampled_from(["application/json", "application/x-amz-json-1.1"]).map(
                   lambda value: (("Content-Type", value),))),
        routed("protocol.unclaimed.get", "GET instead of POST", methods=st.just("GET")),
        routed("protocol.unclaimed.other_path", "a path not of the form /service/{S}/operation/{O}",
               st.sampled_from([rpcv2_path(prefix, name) + "/x", f"/service/{prefix}/{name}", f"/{name}"])),
    ]

