"""Case families only awsJson1_1 can express: empty, malformed and non-UTF-8 bodies; X-Amz-Target routing."""

from __future__ import annotations

from string import ascii_lowercase, ascii_uppercase

from hypothesis import strategies as st

from conformance.cases import Category
from conformance.cases import categories as C
from conformance.generation.strategies.alphabet import ascii_text, joined, kept
from conformance.generation.strategies.bodies import Family, Members, raw_family, request_family
from conformance.generation.strategies.strings import position
from conformance.model import botocore_model
from conformance.model.operations import Operation
from conformance.protocols.awsjson import encode_document

MALFORMED_JSON = (
    b'{"JobId": "abc"', b'{"JobId": "abc"}}', b"{'JobId': 'abc'}", b'{JobId: "abc"}', b'{"JobId": "abc",}',
    b'{"JobId": NaN}', b'{"JobId" "abc"}', b"{", b"}", b"nul", b'{"JobId": "abc"} x', b'{"JobId": "a\x01b"}',
    b'{"JobId": "\\x41"}', b'{"JobId": "\\u12"}',
)
INVALID_UTF8 = (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\x80", b"\xf8\x88\x80\x80\x80")
INVALID_UTF8_BYTES = st.sampled_from(INVALID_UTF8)
BOOLEANS = st.booleans()


# Composites are defined once and given their parts as arguments: st.composite reads a function's source at each
# decoration, which per lane would cost more than drawing.
@st.composite
def _invalid_utf8(draw: st.DrawFn, valid_text: st.SearchStrategy[bytes]) -> bytes:
    text = draw(valid_text)
    at = position(draw, len(text))
    quote = text.find(b'"', text.find(b":") + 1) + 1  # inside the first member's string value
    at = quote if quote > 0 and draw(BOOLEANS) else at
    return text[:at] + draw(INVALID_UTF8_BYTES) + text[at:]


@st.composite
def _truncated(draw: st.DrawFn, valid_text: st.SearchStrategy[bytes]) -> bytes:
    # Cut between characters, not bytes: a cut inside one would make invalid UTF-8,
    # which is another category.
    text = draw(valid_text).decode("utf-8")
    return text[: 1 + position(draw, max(len(text) - 2, 0))].encode("utf-8")


def families(operation: Operation, all_operations: list[Operation]) -> list[Family]:
    """Empty, malformed and non-UTF-8 bodies; missing, unknown and wrong-prefix targets; the claim rules."""
    name = operation.name
    valid_text = Members.of(operation).base().map(encode_document)
    return [
        raw_family(name, C.EMPTY_BODY, "no body at all", st.just(b"")),
        raw_family(name, C.MALFORMED_JSON, "malformed JSON",
                   st.one_of(st.sampled_from(MALFORMED_JSON), _truncated(valid_text))),
        raw_family(name, C.INVALID_UTF8, "JSON with bytes that are not UTF-8", _invalid_utf8(valid_text)),
        *_target_families(operation, all_operations),
        # The claim rules: a request without awsJson1_1's markers is not the service's to serve.
        request_family(operation, C.UNCLAIMED_NO_CONTENT_TYPE, "no Content-Type",
                       headers=st.just((("Content-Type", None),))),
        request_family(operation, C.UNCLAIMED_WRONG_CONTENT_TYPE, "a Content-Type other than awsJson1_1's",
                       headers=st.sampled_from(["application/json", "text/plain", "application/x-amz-json-1.0"]).map(
                           lambda value: (("Content-Type", value),))),
        request_family(operation, C.UNCLAIMED_GET, "GET instead of POST", methods=st.just("GET")),
        request_family(operation, C.UNCLAIMED_OTHER_PATH, "a path other than /",
                       paths=st.sampled_from(["/x", f"/{name}", "//"])),
    ]


def _target_families(operation: Operation, all_operations: list[Operation]) -> list[Family]:
    """A missing X-Amz-Target, one naming no operation of the service, one with another service's prefix."""
    name, prefix = operation.name, operation.service.target_prefix

    def routed(category: Category, text: str, targets: st.SearchStrategy[str | None]) -> Family:
        return request_family(operation, category, text, headers=targets.map(lambda t: (("X-Amz-Target", t),)))

    # Every operation botocore knows for the service counts as served, so an "unknown" name
    # never reaches a real operation; and no name starts with Start, which could create a job.
    served = {op.name for op in all_operations if op.service.target_prefix == prefix}
    served |= set(botocore_model.service_model(operation.service.name).operation_names)
    wrong_prefixes = [*operation.other_target_prefixes(all_operations), prefix.split("_")[0] + "_19990101",
                      prefix + "x"]
    # (Stop|Describe|NoSuch)[A-Z][a-z]{2,10}Job
    unknown_names = kept(joined(st.sampled_from(["Stop", "Describe", "NoSuch"]), ascii_text(ascii_uppercase, 1, 1),
                                ascii_text(ascii_lowercase, 2, 10), st.just("Job")), lambda n: n not in served)
    return [
        routed(C.TARGET_MISSING, "no X-Amz-Target header", st.none()),
        routed(C.TARGET_UNKNOWN, "X-Amz-Target names no operation of the service",
               unknown_names.map(lambda n: f"{prefix}.{n}")),
        routed(C.TARGET_WRONG_PREFIX, "X-Amz-Target with another service's or version's prefix",
               st.sampled_from(wrong_prefixes).map(lambda p: f"{p}.{name}")),
    ]
