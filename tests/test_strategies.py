"""Self-test of the generated cases: each is what its label says, and nothing else."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from typing import Any

import pytest

from conformance import botocore_model, examples, strategies
from conformance.cases import ABSENT, Case, kind_of
from conformance.model import Operation, load_operations
from conformance.protocols import get_protocol
from conformance.strategies.alphabet import Alphabet, UnsupportedPattern
from conformance.safety import could_be_real_job_id

OPERATIONS = load_operations()
PROTOCOL = get_protocol("awsJson1_1")
CBOR = get_protocol("rpcv2Cbor")
LANES = [(op, protocol) for op in OPERATIONS for protocol in (PROTOCOL, CBOR)]
DRAWS = 2000


def _strict_json(raw: bytes) -> Any:
    def no_constants(name: str) -> Any:
        raise ValueError(name)
    return json.loads(raw.decode("utf-8"), parse_constant=no_constants)


def _cbor_violations(operation: Operation, case: Case) -> list[str] | Case:
    """For rpcv2Cbor cases: the CBOR-only categories checked here; others decoded and returned as a Case."""
    import cbor2

    from conformance import cbor_codec

    category, raw = case.category, case.raw_body
    if category == "invalid.body.malformed_cbor" or category == "invalid.body.invalid_utf8":
        try:
            cbor_codec.decode(raw or b"")
        except cbor_codec.CborError as exc:
            utf8 = "text string" in str(exc) or "utf" in str(exc).lower()
            return [] if (category == "invalid.body.invalid_utf8") == utf8 else [f"{category}, but the error is {exc}"]
        return ["the body is valid CBOR"]
    if category == "invalid.required.undefined":
        document = cbor2.loads(raw or b"")
        return [] if document == {"JobId": cbor2.undefined} else [f"{document!r} is not JobId: undefined"]
    if category == "valid.absolute_service":
        wanted = f"/service/{operation.service.namespace}.{operation.service.target_prefix}/operation/{operation.name}"
        if case.path != wanted:
            return [f"path {case.path!r}, expected {wanted!r}"]
    if raw:  # the catalog spells some CBOR cases as bytes: read them back as documents
        document = cbor_codec.decode(raw)
        case = Case(case.operation, category, case.kind, case.description, document=document, headers=case.headers,
                    path=case.path, job_id=document.get("JobId") if isinstance(document, dict) else None)
    if category == "invalid.type.bytes":
        return [] if isinstance(case.document.get("JobId"), bytes) else ["JobId is not a byte string"]
    if category == "invalid.type.tag":
        return [] if isinstance(case.document.get("JobId"), cbor2.CBORTag) else ["JobId is not tagged"]
    if category == "protocol.target_header":
        headers = dict(case.headers)
        problems = [] if {"X-Amz-Target", "X-Amzn-Target"} & set(headers) else ["no X-Amz-Target header"]
        return problems + ([] if operation.validator("request").is_valid(case.document) else ["the body is invalid"])
    if category.startswith("protocol.path."):
        operation_name = (case.path or "").rsplit("/", 1)[-1]
        service = (case.path or "").split("/")[2] if (case.path or "").count("/") >= 4 else ""
        real = botocore_model.service_model(operation.service.name).operation_names
        served = service == operation.service.target_prefix and operation_name in real
        return ["the path names a real operation of the service"] if served else []
    return case


def violations(operation: Operation, case: Case, protocol_name: str = "awsJson1_1") -> list[str]:
    """Everything about a case that contradicts its label (empty when it is exactly what it says)."""
    if case.category.startswith("protocol.unclaimed."):
        changed = case.method not in (None, "POST") or case.path is not None or bool(case.headers)
        valid = operation.validator("request").is_valid(case.document)
        return ([] if changed else ["no marker of the protocol is missing"]) + ([] if valid else ["the body is invalid"])
    if protocol_name == "rpcv2Cbor":
        checked = _cbor_violations(operation, case)
        if isinstance(checked, list):
            return checked
        case = checked
        if case.category == "valid.cbor_indefinite":
            case = Case(case.operation, "valid.mixed", case.kind, case.description, document=case.document)
    schema = operation.request["properties"]["JobId"]
    alphabet = Alphabet.from_pattern(schema["pattern"])
    low, high = schema["minLength"], schema["maxLength"]
    problems = []
    if case.kind is not kind_of(case.category):
        problems.append(f"kind {case.kind} does not follow from {case.category}")
    document = case.document
    value = document.get("JobId", ABSENT) if isinstance(document, dict) else ABSENT
    category = case.category

    def pattern_ok(text: str) -> bool:
        return operation.validator("request").is_valid({"JobId": text}) or not (low <= len(text) <= high)

    if category.startswith("valid.") or category == "extra.unknown_member":
        if not (isinstance(value, str) and operation.validator("request").is_valid({"JobId": value})):
            problems.append(f"JobId {value!r} is not valid")
        if could_be_real_job_id(value):
            problems.append(f"JobId {value!r} has the form of a real job id")
        extra = set(document) - set(operation.request["properties"])
        if (category == "extra.unknown_member") != bool(extra):
            problems.append(f"unknown members {extra}")
    elif category.startswith("invalid.length."):
        if not isinstance(value, str) or low <= len(value) <= high:
            problems.append(f"length {len(value) if isinstance(value, str) else value!r} is within bounds")
        elif not all(alphabet.allows(char) for char in value):
            problems.append("breaks the pattern too")
    elif category.startswith("invalid.char."):
        if not isinstance(value, str) or not low <= len(value) <= high:
            problems.append("breaks the length too")
        else:
            bad = [char for char in value if not alphabet.allows(char)]
            if len(bad) != 1:
                problems.append(f"{len(bad)} forbidden characters, expected exactly one")
            elif category == "invalid.char.lone_surrogate" and not 0xD800 <= ord(bad[0]) <= 0xDFFF:
                problems.append(f"{bad[0]!r} is no surrogate")
            elif category != "invalid.char.lone_surrogate" and unicodedata.category(bad[0]) in ("Cn", "Cs"):
                problems.append(f"{bad[0]!r} is unassigned or a surrogate")
    elif category == "invalid.required.missing":
        if not isinstance(document, dict) or "JobId" in document:
            problems.append("JobId is present")
    elif category.startswith("invalid.type."):
        expected = {"number": (int, float), "boolean": bool, "null": type(None), "array": list, "object": dict}
        wanted = expected[category.rsplit(".", 1)[1]]
        if value is ABSENT or not isinstance(value, wanted) or (wanted != bool and isinstance(value, bool)):
            problems.append(f"JobId {value!r} is not a JSON {category.rsplit('.', 1)[1]}")
    elif category == "invalid.body.not_object":
        if document is ABSENT or isinstance(document, dict):
            problems.append("the body is an object")
    elif category == "invalid.body.empty":
        if case.raw_body != b"":
            problems.append("the body is not empty")
    elif category == "invalid.body.malformed_json":
        try:
            _strict_json(case.raw_body or b"")
            problems.append("the body is valid JSON")
        except UnicodeDecodeError:
            problems.append("the body is not UTF-8 (that is another category)")
        except ValueError:
            pass
    elif category == "invalid.body.invalid_utf8":
        try:
            (case.raw_body or b"").decode("utf-8")
            problems.append("the body is valid UTF-8")
        except UnicodeDecodeError:
            pass
    elif category.startswith("protocol.target."):
        target = dict(case.headers).get("X-Amz-Target", operation.target)
        if target is not None:
            prefix, _, name = target.partition(".")
            same_service = prefix == operation.service.target_prefix
            if same_service and name in botocore_model.service_model(operation.service.name).operation_names:
                problems.append(f"X-Amz-Target {target!r} names a real operation")
        if not isinstance(document, dict) or not operation.validator("request").is_valid(document):
            problems.append("the body is not valid, so the case tests two things")
    else:
        problems.append(f"no verifier for category {category}")
    return problems


@pytest.mark.parametrize(("operation", "protocol"), LANES, ids=lambda x: getattr(x, "name", ""))
def test_thousands_of_generated_cases_are_what_their_labels_say(operation: Operation, protocol) -> None:
    draws = DRAWS if protocol is PROTOCOL else DRAWS // 2
    cases = strategies.draw_cases(strategies.any_case(operation, protocol, OPERATIONS), draws, seed=20261123)
    assert len(cases) >= draws * 0.9
    wrong = [(case.category, case.document if case.document is not ABSENT else case.raw_body, problems)
             for case in cases if (problems := violations(operation, case, protocol.name))]
    assert not wrong, wrong[:10]
    families = {family.category for family in strategies.families(operation, protocol, OPERATIONS)}
    drawn = Counter(case.category for case in cases)
    assert set(drawn) == families, f"never drawn: {families - set(drawn)}"


def test_valid_lengths_one_and_max_are_drawn() -> None:
    operation = OPERATIONS[0]
    lengths = Counter()
    for family in strategies.families(operation, PROTOCOL, OPERATIONS):
        if family.category.startswith("valid."):
            for case in strategies.draw_cases(family.strategy, 60, seed=1):
                lengths[(family.category, len(case.document["JobId"]))] += 1
    for category in ("valid.letters", "valid.numbers", "valid.separators", "valid.astral", "valid.punctuation"):
        assert lengths[(category, 1)] and lengths[(category, 32)], category


@pytest.mark.parametrize(("operation", "protocol"), LANES, ids=lambda x: getattr(x, "name", ""))
def test_catalog_cases_are_what_their_labels_say_and_cover_every_family(operation: Operation, protocol) -> None:
    cases = examples.cases_for(operation, protocol.name, OPERATIONS, examples.load_entries(), protocol.inexpressible)
    wrong = [(case.category, case.description, problems) for case in cases
             if (problems := violations(operation, case, protocol.name))]
    assert not wrong, wrong
    families = {family.category for family in strategies.families(operation, protocol, OPERATIONS)}
    assert {case.category for case in cases} == families
    first_pass = [case.category for case in cases[: len(families)]]
    assert set(first_pass) == families, "the catalog's first entries cover every category once"


def test_alphabet_reads_the_job_id_pattern() -> None:
    alphabet = Alphabet.from_pattern(r"^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$")
    assert alphabet.categories == {"Lu", "Ll", "Lt", "Lm", "Lo", "Zs", "Zl", "Zp", "Nd", "Nl", "No"}
    assert alphabet.literals == set("_.:/=+-%@")


@pytest.mark.parametrize("pattern", [r"^[a-z]+(x)$", r"[a-z]*", r"^([a-z]*)$", r"^([\p{Xx}]*)$", r"^([^a]*)$"])
def test_unsupported_patterns_are_named(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern, match="pattern|range|property"):
        Alphabet.from_pattern(pattern)
