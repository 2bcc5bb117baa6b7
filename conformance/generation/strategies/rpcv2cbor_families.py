"""Case families only rpcv2Cbor can express: CBOR-only bodies and types, indefinite lengths, rpcv2 routing."""

from __future__ import annotations

from string import ascii_lowercase, ascii_uppercase
from typing import Any

import cbor2
from hypothesis import strategies as st

from conformance.cases import Case, Category
from conformance.cases import categories as C
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


# Composites are defined once and given their parts as arguments: st.composite reads a function's source at each
# decoration, which per lane would cost more than drawing.
@st.composite
def _with_member(draw: st.DrawFn, like: Case, others: st.SearchStrategy[dict[str, Any]], member: str,
                 values: st.SearchStrategy[Any]) -> Case:
    return Case(like.operation, like.category, like.kind, like.description,
                document={**draw(others), member: draw(values)})


@st.composite
def _invalid_utf8(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]], member: str) -> bytes:
    value = draw(base)[member].encode("utf-8")
    at = position(draw, len(value))
    broken = value[:at] + draw(INVALID_UTF8_BYTES) + value[at:]
    # A one-member map whose text string (major type 3, 1-byte length) holds the bad bytes.
    return b"\xa1" + cbor2.dumps(member) + bytes([0x78, len(broken)]) + broken


def families(operation: Operation, all_operations: list[Operation]) -> list[Family]:
    """CBOR-only bodies and types, definite and indefinite forms, and the rpcv2 routing and claim rules."""
    return _body_families(operation) + _routing_families(operation, all_operations)


def _body_families(operation: Operation) -> list[Family]:
    """Bodies only CBOR has: malformed CBOR, invalid UTF-8 in a text string, indefinite lengths, undefined, byte
    strings and tags."""
    members = Members.of(operation)
    name = operation.name
    member = members.required[0]  # the member whose CBOR types are varied
    base = members.base()

    def with_member(category: Category, text: str, values: st.SearchStrategy[Any]) -> Family:
        like = Case(name, category.name, category.kind, text)
        return Family.of(category, text, _with_member(like, members.base(replace=member), member, values))

    indefinite_text = "a valid JobId in an indefinite-length map of indefinite-length strings"
    valid_indefinite = base.map(lambda document: Case(
        name, C.VALID_CBOR_INDEFINITE.name, C.VALID_CBOR_INDEFINITE.kind, indefinite_text,
        raw_body=indefinite(document), job_id=document.get("JobId")))
    undefined = b"\xa1" + cbor2.dumps(member) + b"\xf7"  # {member: undefined}, which MUST read as null
    return [
        raw_family(name, C.EMPTY_BODY, "no body at all", st.just(b"")),
        raw_family(name, C.MALFORMED_CBOR, "malformed CBOR", st.sampled_from(MALFORMED_CBOR)),
        raw_family(name, C.INVALID_UTF8, "a CBOR text string that is not UTF-8", _invalid_utf8(base, member)),
        raw_family(name, C.REQUIRED_MISSING, "the empty map in indefinite-length form", st.just(b"\xbf\xff")),
        with_member(C.TYPE_BYTES, "JobId is a CBOR byte string",
                    members.spaces[member].valid().map(lambda labelled: labelled[2].encode("utf-8"))),
        with_member(C.TYPE_TAG, "JobId is a tagged value",
                    st.sampled_from([cbor2.CBORTag(1, 1700000000), cbor2.CBORTag(255, "job-1"),
                                     cbor2.CBORTag(32, "https://example.com/")])),
        Family.of(C.VALID_CBOR_INDEFINITE, "a valid JobId in indefinite-length form", valid_indefinite),
        raw_family(name, C.REQUIRED_UNDEFINED, "JobId is CBOR undefined, which MUST read as null", st.just(undefined)),
    ]


def _routing_families(operation: Operation, all_operations: list[Operation]) -> list[Family]:
    """The rpcv2 path and headers: X-Amz-Target on the path, paths naming no operation, another service or an
    absolute shape id, the absolute service id, and requests without the protocol's markers."""
    name, prefix, namespace = operation.name, operation.service.target_prefix, operation.service.namespace
    others = operation.other_target_prefixes(all_operations) or [prefix + "x"]

    def routed(category: Category, text: str, paths: st.SearchStrategy[str | None] = st.none(),
               **changes: Any) -> Family:
        return request_family(operation, category, text, paths=paths, **changes)

    return [
        routed(C.TARGET_HEADER, "X-Amz-Target sent on the rpcv2 path", headers=st.sampled_from(
            [(("X-Amz-Target", operation.target),), (("X-Amzn-Target", operation.target),)])),
        routed(C.PATH_UNKNOWN_OPERATION, "the path names no operation of the service",
               # (NoSuch|Describe)[A-Z][a-z]{2,10}Job
               joined(st.sampled_from(["NoSuch", "Describe"]), ascii_text(ascii_uppercase, 1, 1),
                      ascii_text(ascii_lowercase, 2, 10), st.just("Job")).map(lambda op: rpcv2_path(prefix, op))),
        routed(C.PATH_WRONG_SERVICE, "the path names another service",
               st.sampled_from(others).map(lambda service: rpcv2_path(service, name))),
        routed(C.PATH_ABSOLUTE_OPERATION, "the operation segment is an absolute shape id (MUST NOT route)",
               st.sampled_from([f"{namespace}%23{name}", f"{namespace}.{name}"]).map(
                   lambda op: rpcv2_path(prefix, op))),
        routed(C.VALID_ABSOLUTE_SERVICE, "the service segment is the absolute service id, '.' for '#' (SHOULD route)",
               st.just(rpcv2_path(f"{namespace}.{prefix}", name))),
        # The claim rules: a request without rpcv2Cbor's markers is not the service's to serve.
        routed(C.UNCLAIMED_NO_SMITHY_PROTOCOL, "no Smithy-Protocol header",
               headers=st.just((("Smithy-Protocol", None),))),
        routed(C.UNCLAIMED_WRONG_CONTENT_TYPE, "a Content-Type other than application/cbor",
               headers=st.sampled_from(["application/json", "application/x-amz-json-1.1"]).map(
                   lambda value: (("Content-Type", value),))),
        routed(C.UNCLAIMED_GET, "GET instead of POST", methods=st.just("GET")),
        routed(C.UNCLAIMED_OTHER_PATH, "a path not of the form /service/{S}/operation/{O}",
               st.sampled_from([rpcv2_path(prefix, name) + "/x", f"/service/{prefix}/{name}", f"/{name}"])),
    ]
