"""Every case category, declared once: its name, its kind (which decides what may be answered), what it tests.

A case carries its category's name (`Case.category`); strategies, the catalog, the job flows, the
oracle's rows and the verdict name categories through the constants here, and `category` refuses a
name that is not declared. Adding a category is one line here, and a family or catalog entry that
draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.cases.case import Kind


@dataclass(frozen=True)
class Category:
    """One category of cases: everything in it tests the same thing and expects the same answers."""

    name: str  # dotted, e.g. "invalid.length.too_long"
    kind: Kind
    description: str


CATEGORIES: dict[str, Category] = {}


def _declare(name: str, kind: Kind, description: str) -> Category:
    if name in CATEGORIES:
        raise ValueError(f"case category {name!r} is declared twice")
    CATEGORIES[name] = declared = Category(name, kind, description)
    return declared


def category(name: str) -> Category:
    """The declared category of that name; ValueError for any other name."""
    found = CATEGORIES.get(name)
    if found is None:
        raise ValueError(f"unknown case category {name!r}")
    return found


def kind_of(name: str) -> Kind:
    """The kind of a category's cases; ValueError for a name that is no declared category."""
    return category(name).kind


_K = Kind

# A valid request for no job: the operation's not-found answer.
PROBE = _declare("valid.probe", _K.UNKNOWN_JOB, "the probe: is the lane (operation over protocol) served?")
VALID_LETTERS = _declare("valid.letters", _K.UNKNOWN_JOB, "a valid JobId of letters of any script")
VALID_NUMBERS = _declare("valid.numbers", _K.UNKNOWN_JOB, "a valid JobId of numbers, decimal and not")
VALID_SEPARATORS = _declare("valid.separators", _K.UNKNOWN_JOB, "a valid JobId of space separators, U+2028, U+2029")
VALID_ASTRAL = _declare("valid.astral", _K.UNKNOWN_JOB, "a valid JobId of characters beyond the BMP")
VALID_MIXED = _declare("valid.mixed", _K.UNKNOWN_JOB, "a valid JobId mixing every class the pattern allows")
VALID_PUNCTUATION = _declare("valid.punctuation", _K.UNKNOWN_JOB, "a valid JobId of the punctuation the pattern lists")
VALID_ABSOLUTE_SERVICE = _declare("valid.absolute_service", _K.UNKNOWN_JOB,
                                  "rpcv2Cbor: the path's service segment as the absolute service id (SHOULD route)")
VALID_CBOR_INDEFINITE = _declare("valid.cbor_indefinite", _K.UNKNOWN_JOB,
                                 "rpcv2Cbor: a valid JobId in indefinite-length map and strings")

# A member that breaks a length, pattern or required constraint: a validation error.
TOO_SHORT = _declare("invalid.length.too_short", _K.CONSTRAINT, "a JobId shorter than its minimum length")
TOO_LONG = _declare("invalid.length.too_long", _K.CONSTRAINT, "a JobId just longer than its maximum length")
TOO_LONG_ASTRAL = _declare("invalid.length.too_long_astral", _K.CONSTRAINT,
                           "a JobId one code point too long, of characters beyond the BMP")
FAR_TOO_LONG = _declare("invalid.length.far_too_long", _K.CONSTRAINT, "a JobId of 10,000 characters")
CHAR_CONTROL = _declare("invalid.char.control", _K.CONSTRAINT, "a JobId with one control character")
CHAR_COMBINING_MARK = _declare("invalid.char.combining_mark", _K.CONSTRAINT, "a JobId with one combining mark")
CHAR_FORMAT = _declare("invalid.char.format", _K.CONSTRAINT, "a JobId with one format character")
CHAR_SYMBOL = _declare("invalid.char.symbol", _K.CONSTRAINT, "a JobId with one symbol")
CHAR_EMOJI = _declare("invalid.char.emoji", _K.CONSTRAINT, "a JobId with one emoji")
CHAR_PRIVATE_USE = _declare("invalid.char.private_use", _K.CONSTRAINT, "a JobId with one private-use character")
CHAR_OTHER_PUNCTUATION = _declare("invalid.char.other_punctuation", _K.CONSTRAINT,
                                  "a JobId with one punctuation character the pattern does not list")
CHAR_ASCII_PUNCTUATION = _declare("invalid.char.ascii_punctuation", _K.CONSTRAINT,
                                  "a JobId with one ASCII punctuation character the pattern does not list")
CHAR_LONE_SURROGATE = _declare("invalid.char.lone_surrogate", _K.CONSTRAINT,
                               "awsJson: a JobId with one lone surrogate (a \\uD800-style JSON escape)")
REQUIRED_MISSING = _declare("invalid.required.missing", _K.CONSTRAINT, "the required JobId missing")
REQUIRED_UNDEFINED = _declare("invalid.required.undefined", _K.CONSTRAINT,
                              "rpcv2Cbor: JobId is CBOR undefined, which MUST read as null")

# A member of the wrong type, or a body that is not the input structure: a serialization error.
TYPE_NUMBER = _declare("invalid.type.number", _K.SERIALIZATION, "JobId is a number")
TYPE_BOOLEAN = _declare("invalid.type.boolean", _K.SERIALIZATION, "JobId is a boolean")
TYPE_NULL = _declare("invalid.type.null", _K.SERIALIZATION, "JobId is null, which reads as a missing member")
TYPE_ARRAY = _declare("invalid.type.array", _K.SERIALIZATION, "JobId is an array")
TYPE_OBJECT = _declare("invalid.type.object", _K.SERIALIZATION, "JobId is an object")
TYPE_BYTES = _declare("invalid.type.bytes", _K.SERIALIZATION, "rpcv2Cbor: JobId is a CBOR byte string")
TYPE_TAG = _declare("invalid.type.tag", _K.SERIALIZATION, "rpcv2Cbor: JobId is a tagged value")
NOT_OBJECT = _declare("invalid.body.not_object", _K.SERIALIZATION, "the body decodes, but not to an object")
MALFORMED_JSON = _declare("invalid.body.malformed_json", _K.SERIALIZATION, "awsJson: malformed JSON")
MALFORMED_CBOR = _declare("invalid.body.malformed_cbor", _K.SERIALIZATION, "rpcv2Cbor: malformed CBOR")
INVALID_UTF8 = _declare("invalid.body.invalid_utf8", _K.SERIALIZATION, "text that is not UTF-8 in the body")
EMPTY_BODY = _declare("invalid.body.empty", _K.EMPTY_BODY, "no body at all (the empty input)")
EXTRA_MEMBER = _declare("extra.unknown_member", _K.EXTRA_MEMBER, "a valid body plus a member the input does not have")

# Requests that name no operation served, or break the protocol's rules.
TARGET_MISSING = _declare("protocol.target.missing", _K.UNKNOWN_OPERATION, "awsJson: no X-Amz-Target header")
TARGET_UNKNOWN = _declare("protocol.target.unknown", _K.UNKNOWN_OPERATION,
                          "awsJson: X-Amz-Target names no operation of the service")
TARGET_WRONG_PREFIX = _declare("protocol.target.wrong_prefix", _K.UNKNOWN_OPERATION,
                               "awsJson: X-Amz-Target with another service's or version's prefix")
PATH_UNKNOWN_OPERATION = _declare("protocol.path.unknown_operation", _K.UNKNOWN_OPERATION,
                                  "rpcv2Cbor: the path names no operation of the service")
PATH_WRONG_SERVICE = _declare("protocol.path.wrong_service", _K.UNKNOWN_OPERATION,
                              "rpcv2Cbor: the path names another service")
PATH_ABSOLUTE_OPERATION = _declare("protocol.path.absolute_operation", _K.UNKNOWN_OPERATION,
                                   "rpcv2Cbor: the operation segment is an absolute shape id (MUST NOT route)")
TARGET_HEADER = _declare("protocol.target_header", _K.PROTOCOL_VIOLATION,
                         "rpcv2Cbor: X-Amz-Target sent on the rpcv2 path (MUST be rejected)")
UNCLAIMED_GET = _declare("protocol.unclaimed.get", _K.UNCLAIMED, "GET instead of POST")
UNCLAIMED_NO_CONTENT_TYPE = _declare("protocol.unclaimed.no_content_type", _K.UNCLAIMED, "no Content-Type")
UNCLAIMED_WRONG_CONTENT_TYPE = _declare("protocol.unclaimed.wrong_content_type", _K.UNCLAIMED,
                                        "a Content-Type other than the protocol's")
UNCLAIMED_NO_SMITHY_PROTOCOL = _declare("protocol.unclaimed.no_smithy_protocol", _K.UNCLAIMED,
                                        "rpcv2Cbor: no Smithy-Protocol header")
UNCLAIMED_OTHER_PATH = _declare("protocol.unclaimed.other_path", _K.UNCLAIMED, "a path other than the protocol's")

# Unsigned and wrongly signed requests.
AUTH_UNSIGNED = _declare("auth.unsigned", _K.AUTH, "an unsigned request")
AUTH_UNSIGNED_REFUSED = _declare("auth.unsigned_refused", _K.AUTH, "an unsigned request, which AWS must refuse")
AUTH_BAD_SIGNATURE = _declare("auth.bad_signature", _K.AUTH, "a request whose signature is wrong")
AUTH_EXPIRED_DATE = _declare("auth.expired_date", _K.AUTH, "a request signed an hour ago")

# A job's life (the job flows): a job the suite started, its status, and JobIds next to its own.
START = _declare("start.job", _K.START_JOB, "start a job for Stop to stop")
DESCRIBE = _declare("existing.describe", _K.DESCRIBE_JOB, "read the status of the job the suite started")
UNTOUCHED = _declare("existing.untouched", _K.DESCRIBE_JOB, "the job is untouched by the near misses")
SETTLED = _declare("existing.settled", _K.DESCRIBE_JOB, "the stopped job settles within --settle-timeout")
STOP = _declare("existing.stop", _K.EXISTING_JOB, "stop the job the suite started")
STOP_AGAIN = _declare("existing.stop_again", _K.EXISTING_JOB, "stop the same job a second time")
STOP_SETTLED = _declare("existing.stop_settled", _K.EXISTING_JOB, "stop the job once it has settled")
CLEANUP = _declare("existing.cleanup", _K.EXISTING_JOB, "stop a job the run started and left running")
# JobIds next to a started job's (`model.job_ids.near_misses`), by the label of each.
NEAR_MISSES = {label: _declare(f"near_miss.{label}", _K.NEAR_MISS,
                               f"a JobId next to the started job's ({label.replace('_', ' ')}): names no job")
               for label in ("upper_case", "one_replaced", "trailing_space", "trailing_newline", "leading_space",
                             "prefix", "suffix_added")}
# Whatever the wrong-type families draw, by the JSON type's name.
WRONG_TYPES = {"number": TYPE_NUMBER, "boolean": TYPE_BOOLEAN, "null": TYPE_NULL, "array": TYPE_ARRAY,
               "object": TYPE_OBJECT}
