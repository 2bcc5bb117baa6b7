"""An answer's comparable form (`judging.answer_forms`): what it keeps and leaves out, volatile JSON pointers, job-id
tokens, a member masked, how a form and the differences between two are said."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import pickle

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.judging.answer_forms import (
    JOB_STATUS_MEMBER,
    MAX_DIFFERENCES_SAID,
    VOLATILE,
    WORDING_MEMBERS,
    AnswerForm,
    answer_form,
    differences,
    normalise_job_ids,
    pointer_token,
    with_member_masked,
)
from conformance.protocols import Answer, get_protocol
from conformance.wire.http import HttpResponse

JSON = get_protocol("awsJson1_1")
CBOR = get_protocol("rpcv2Cbor")
JSON_TYPE = "application/x-amz-json-1.1"


def json_answer(status: int, body: object = None, headers: dict[str, str] | None = None, raw: bytes | None = None):
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return JSON.decode(HttpResponse(status, {"content-type": JSON_TYPE, **(headers or {})}, data))


def body_of(document: object, **options) -> object:
    """The form's body tree of a 200 whose decoded document is `document` (any value a decoder may give)."""
    response = HttpResponse(200, {"content-type": JSON_TYPE}, b"{}")
    return answer_form(Answer(response, document=document), **options).body


def form(status: int = 200, error_type: str | None = None, media_type: str | None = JSON_TYPE,
         has_message: bool = False, body: object = ("map", ())) -> AnswerForm:
    return AnswerForm(status, error_type, media_type, has_message, body)


def text(value: str) -> tuple[str, str]:
    return ("string", value)


# 1. What a form keeps and leaves out.

def test_a_form_keeps_status_error_type_media_type_whether_a_message_is_said_and_the_member_tree() -> None:
    found = answer_form(json_answer(400, {"__type": "ns#JobNotFoundException:http://x", "message": "no such job",
                                          "JobId": "j"}))
    assert found == AnswerForm(400, "JobNotFoundException", JSON_TYPE, True, ("map", (("JobId", text("j")),)))


@pytest.mark.parametrize("member", sorted(WORDING_MEMBERS))
def test_wording_and_identity_members_are_left_out_wherever_they_stand(member: str) -> None:
    assert body_of({member: "x", "Job": {member: "y", "Name": "n"}, "Jobs": [{member: "z"}]}) == (
        "map", (("Job", ("map", (("Name", text("n")),))), ("Jobs", ("list", (("map", ()),)))))


def test_the_wording_members_are_the_message_error_type_and_request_id_members() -> None:
    assert WORDING_MEMBERS == {"message", "Message", "__type", "code", "Code", "RequestId", "requestId"}


@pytest.mark.parametrize("member", ["SubmitTime", "EndDate", "LastTimestamp"])
def test_a_member_named_as_a_time_keeps_only_its_type(member: str) -> None:
    assert body_of({"Job": {member: 1700000000.5, "Zone": "z"}}) == (
        "map", (("Job", ("map", ((member, ("number", VOLATILE)), ("Zone", text("z"))))),))
    assert VOLATILE == "<volatile>"


def test_a_time_keeps_only_its_type_whatever_it_is_named() -> None:
    when = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
    assert body_of({"When": when, "Timely": "t"}) == ("map", (("Timely", text("t")), ("When", ("timestamp", VOLATILE))))


@pytest.mark.parametrize(("value", "tree"), [
    (None, ("null", None)), (True, ("boolean", True)), (False, ("boolean", False)), (7, ("number", 7)),
    (1.5, ("number", 1.5)), ("s", text("s")), (b"\x00", ("blob", b"\x00")),
    (bytearray(b"b"), ("blob", bytearray(b"b"))),
    (decimal.Decimal("2.5"), ("Decimal", decimal.Decimal("2.5"))),  # no JSON type: its own type's name
])
def test_each_value_keeps_its_type_and_value(value: object, tree: tuple[str, object]) -> None:
    assert body_of({"V": value}) == ("map", (("V", tree),))
    assert type(body_of({"V": value})[1][0][1][1]) is type(value)


def test_a_whole_float_is_the_integer_cbor_and_json_mean_alike() -> None:
    assert body_of({"N": 1.0}) == ("map", (("N", ("number", 1)),))
    assert type(body_of({"N": 1.0})[1][0][1][1]) is int
    assert answer_form(Answer(HttpResponse(200, {}, b"{}"), document={"N": 2.0})).describe() == "200 {N: number 2}"


def test_nan_is_kept_as_a_word_so_that_a_form_equals_itself() -> None:
    assert body_of({"N": float("nan")}) == ("map", (("N", ("number", "NaN")),))
    assert body_of([float("nan")]) == body_of([float("nan")])


def test_members_are_sorted_and_named_as_text() -> None:
    assert body_of({"b": 1, "a": [2, "x"], 3: None}) == (
        "map", (("3", ("null", None)), ("a", ("list", (("number", 2), text("x")))), ("b", ("number", 1))))


def test_a_cbor_answer_has_the_same_tree_as_the_json_one() -> None:
    document = {"JobId": "j", "N": 1, "Items": ["a", {"K": True}]}
    cbor = CBOR.decode(HttpResponse(200, {"content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
                                    cbor2.dumps({**document, "N": 1.0})))
    assert answer_form(cbor).body == answer_form(json_answer(200, document)).body
    assert answer_form(cbor).media_type == "application/cbor"


@pytest.mark.parametrize(("raw", "tree"), [(b"", ("map", ())), (b"  \n", ("map", ())), (b"null", ("null", None)),
                                           (b"[]", ("list", ())), (b"nope", ("undecodable", None))])
def test_an_empty_body_is_the_empty_structure_and_an_undecodable_one_is_undecodable(raw: bytes, tree: object) -> None:
    assert answer_form(json_answer(200, raw=raw)).body == tree


@pytest.mark.parametrize(("headers", "raw", "media"), [
    ({"content-type": "Application/X-Amz-JSON-1.1"}, b"{}", JSON_TYPE),
    ({"content-type": " application/json ; charset=utf-8; q=1"}, b"{}", "application/json"),
    ({"content-type": ";charset=utf-8"}, b"{}", None),
    ({}, b"{}", None),
    ({"content-type": JSON_TYPE}, b"", None),  # no body: nothing its type could describe
    ({"content-type": JSON_TYPE}, b" ", JSON_TYPE),
])
def test_the_media_type_is_the_content_type_s_bare_lower_cased_type_of_a_body(headers: dict[str, str], raw: bytes,
                                                                              media: str | None) -> None:
    assert answer_form(JSON.decode(HttpResponse(200, headers, raw))).media_type == media


def test_only_an_error_has_an_error_type() -> None:
    response = HttpResponse(200, {"content-type": JSON_TYPE}, b"{}")
    assert answer_form(Answer(response, document={}, error_type="SomeException")).error_type is None
    assert answer_form(json_answer(500, {"__type": "InternalFailure"})).error_type == "InternalFailure"


@pytest.mark.parametrize(("message", "said"), [(None, False), ("", False), (" \t", False), ("m", True),
                                               (" m ", True)])
def test_a_message_is_said_when_it_has_some_text(message: str | None, said: bool) -> None:
    response = HttpResponse(400, {"content-type": JSON_TYPE}, b"{}")
    assert answer_form(Answer(response, document={}, error_type="E", message=message)).has_message is said


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=20), st.text(max_size=20), st.text(min_size=1, max_size=20).filter(str.strip),
       st.text(min_size=1, max_size=20).filter(str.strip), st.permutations(["JobId", "Extra", "Other"]))
def test_a_form_never_depends_on_request_ids_message_wording_or_member_order(
        one_id: str, other_id: str, one_message: str, other_message: str, order: list[str]) -> None:
    members = {"JobId": "j", "Extra": [1, {"A": None}], "Other": {"B": True}}
    one = json_answer(400, {"__type": "E", "message": one_message, "RequestId": one_id, **members},
                      {"x-amzn-requestid": one_id})
    other = json_answer(400, {"Message": other_message, "__type": "ns#E", "requestId": other_id,
                              **{name: members[name] for name in order}}, {"x-amzn-requestid": other_id + "x"})
    assert answer_form(one) == answer_form(other)
    assert differences(answer_form(one), answer_form(other)) == []


def test_a_form_is_a_value_that_cannot_change() -> None:
    # Forms are compared and kept (recordings, the diff's groups): equal forms hash alike, none can be altered.
    assert len({form(), form(), form(status=400)}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        form().status = 500  # type: ignore[misc]


# 2. Volatile JSON pointers and job ids.

def test_a_volatile_member_is_left_out_whole_wherever_the_pointer_says() -> None:
    document = {"JobId": "j", "Job": {"Name": "n", "Id": "i"}, "Id": "top"}
    assert body_of(document, volatile=["/Job/Id", "/JobId"]) == (
        "map", (("Id", text("top")), ("Job", ("map", (("Name", text("n")),)))))
    assert body_of(document, volatile=iter(["/Job/Id"])) == body_of({"JobId": "j", "Job": {"Name": "n"}, "Id": "top"})


def test_a_volatile_list_item_keeps_its_place_and_type() -> None:
    assert body_of({"Items": ["a", "b", 3]}, volatile=["/Items/1", "/Items/2"]) == (
        "map", (("Items", ("list", (text("a"), ("string", VOLATILE), ("number", VOLATILE)))),))


def test_a_pointer_names_a_member_in_rfc_6901_tokens() -> None:
    assert pointer_token("a~b/c") == "a~0b~1c"
    assert pointer_token("~1") == "~01"
    assert pointer_token("plain") == "plain"
    assert body_of({"a/b": 1, "c~d": 2, "e": 3}, volatile=["/a~1b", "/c~0d"]) == ("map", (("e", ("number", 3)),))


def test_each_job_id_is_numbered_once_in_the_order_given_and_an_empty_one_keeps_its_place() -> None:
    assert normalise_job_ids(["a", "b", "a"]) == {"a": "<job 1>", "b": "<job 2>"}
    assert normalise_job_ids(["", "c"]) == {"c": "<job 2>"}
    assert normalise_job_ids(iter(["x"])) == {"x": "<job 1>"}
    assert normalise_job_ids([]) == {}


def test_a_job_s_id_is_its_token_itself_or_inside_an_arn() -> None:
    ids = normalise_job_ids(["abc123", "def456"])
    assert body_of({"JobId": "abc123", "JobArn": "arn:aws:comprehend:us-east-1:1:pii-job/def456", "N": 1,
                    "Other": "xyz"}, job_ids=ids) == ("map", (
        ("JobArn", text("arn:aws:comprehend:us-east-1:1:pii-job/<job 2>")), ("JobId", text("<job 1>")),
        ("N", ("number", 1)), ("Other", text("xyz"))))
    assert body_of({"JobId": "abc123"}, job_ids=None) == ("map", (("JobId", text("abc123")),))


# 3. How forms and their differences are said.

@pytest.mark.parametrize(("the_form", "said"), [
    (form(400, "ValidationException", body=("map", (("JobId", ("string", VOLATILE)),))),
     "400 ValidationException {JobId: string}"),
    (form(200, body=("map", (("JobStatus", text("STOPPED")), ("N", ("number", 1))))),
     "200 {JobStatus: string 'STOPPED', N: number 1}"),
    (form(200, body=("map", (("Flag", ("boolean", True)), ("Items", ("list", (text("a"), ("null", None))))))),
     "200 {Flag: boolean True, Items: [string 'a', null None]}"),
    (form(500, body=("undecodable", None)), "500 undecodable None"),
    (form(200, body=None), "200 None"),  # a body that is no tree, said as it is
    (form(200, body=("a", "b", "c")), "200 ('a', 'b', 'c')"),
    (form(200, body=("a",)), "200 ('a',)"),
    (form(200, body=()), "200 ()"),
])
def test_a_form_is_said_in_one_line(the_form: AnswerForm, said: str) -> None:
    assert the_form.describe() == said


@pytest.mark.parametrize(("length", "shown"), [(58, "'" + "x" * 58 + "'"), (59, "'" + "x" * 56 + "...")])
def test_a_long_value_is_said_in_60_characters(length: int, shown: str) -> None:
    said = form(body=text("x" * length)).describe()
    assert said == f"200 string {shown}"
    assert len(said.removeprefix("200 string ")) == 60


def test_two_equal_forms_have_no_difference() -> None:
    assert differences(form(), form()) == []


@pytest.mark.parametrize(("recorded", "actual", "said"), [
    (form(status=400), form(status=404), ["status 400 -> 404"]),
    (form(status=404), form(status=400), ["status 404 -> 400"]),
    (form(error_type="A"), form(error_type=None), ["error type A -> None"]),
    (form(media_type=JSON_TYPE), form(media_type="application/cbor"),
     [f"Content-Type {JSON_TYPE} -> application/cbor"]),
    (form(has_message=True), form(has_message=False), ["a message -> none"]),
    (form(has_message=False), form(has_message=True), ["a message: none -> one"]),
    (form(400, "A", has_message=True), form(404, "B", "text/html"),
     ["status 400 -> 404", "error type A -> B", f"Content-Type {JSON_TYPE} -> text/html", "a message -> none"]),
])
def test_each_difference_of_status_type_media_type_and_message_is_said(recorded: AnswerForm, actual: AnswerForm,
                                                                      said: list[str]) -> None:
    assert differences(recorded, actual) == said


def tree(document: object) -> object:
    return body_of(document)


@pytest.mark.parametrize(("recorded", "actual", "said"), [
    ({"JobStatus": "SUBMITTED"}, {"JobStatus": "IN_PROGRESS"},
     ["/JobStatus string 'SUBMITTED' -> string 'IN_PROGRESS'"]),
    ({"A": 1, "B": 2}, {"B": 2, "C": [3]}, ["/A missing", "/C added ([number 3])"]),
    ({"Job": {"a/b": 1, "Same": 0}}, {"Job": {"a/b": 2, "Same": 0}}, ["/Job/a~1b number 1 -> number 2"]),
    ({"L": [1, 2, 3]}, {"L": [1, 5, 6]}, ["/L/1 number 2 -> number 5", "/L/2 number 3 -> number 6"]),
    ({"L": [1]}, {"L": [1, 2]}, ["/L [number 1] -> [number 1, number 2]"]),
    ({"M": {"k": 1}}, {"M": [1]}, ["/M {k: number 1} -> [number 1]"]),
    ({"M": [1]}, {"M": {"k": 1}}, ["/M [number 1] -> {k: number 1}"]),
    ({"M": {}}, {"M": "s"}, ["/M {} -> string 's'"]),
    ({"M": "s"}, {"M": {}}, ["/M string 's' -> {}"]),
    ({"M": True}, {"M": [1]}, ["/M boolean True -> [number 1]"]),
    ({"M": True}, {"M": False}, ["/M boolean True -> boolean False"]),
    ({"L": [1, 2]}, {"L": [1]}, ["/L [number 1, number 2] -> [number 1]"]),
    ({"M": []}, {"M": "s"}, ["/M [] -> string 's'"]),
    ({}, [], ["the body {} -> []"]),
    ([1], [2], ["/0 number 1 -> number 2"]),
    ("s", 1, ["the body string 's' -> number 1"]),
])
def test_each_difference_of_the_body_is_said_by_its_json_pointer(recorded: object, actual: object,
                                                                said: list[str]) -> None:
    assert differences(form(body=tree(recorded)), form(body=tree(actual))) == said


def test_one_item_changed_in_a_long_list_is_said_by_its_index() -> None:
    items = list(range(300))
    assert differences(form(body=tree({"L": items})), form(body=tree({"L": [*items[:-1], -1]}))) == [
        "/L/299 number 299 -> number -1"]


@pytest.mark.parametrize(("count", "said"), [
    (4, ["/A missing", "/B missing", "/C missing", "/D missing"]),
    (5, ["/A missing", "/B missing", "/C missing", "/D missing", "and 1 more"]),
    (9, ["/A missing", "/B missing", "/C missing", "/D missing", "and 5 more"]),
])
def test_at_most_four_body_differences_are_said_and_the_rest_counted(count: int, said: list[str]) -> None:
    assert MAX_DIFFERENCES_SAID == 4
    recorded = form(status=400, body=tree({name: 1 for name in "ABCDEFGHI"[:count]}))
    assert differences(recorded, form(status=400)) == said
    assert differences(recorded, form(status=404))[0] == "status 400 -> 404"


# 4. A member masked (the job's status, whose timing no replay repeats).

def test_a_masked_member_keeps_its_presence_and_type_wherever_it_stands() -> None:
    assert JOB_STATUS_MEMBER == "JobStatus"
    masked = with_member_masked(form(has_message=True, body=tree({
        "JobStatus": "STOPPED", "Other": "o", "Job": {"JobStatus": 3, "Name": "n"}, "Jobs": [{"JobStatus": "X"}, "y"],
        "Nested": {"JobStatus": {"JobStatus": "Z", "Kept": "k"}}, "Listed": {"JobStatus": ["a"]}, "Flag": True,
        "Blob": b"b"})), "JobStatus")
    assert masked == form(has_message=True, body=("map", (
        ("Blob", ("blob", b"b")),
        ("Flag", ("boolean", True)),
        ("Job", ("map", (("JobStatus", ("number", VOLATILE)), ("Name", text("n"))))),
        ("JobStatus", ("string", VOLATILE)),
        ("Jobs", ("list", (("map", (("JobStatus", ("string", VOLATILE)),)), text("y")))),
        ("Listed", ("map", (("JobStatus", ("list", VOLATILE)),))),
        ("Nested", ("map", (("JobStatus", ("map", (("JobStatus", ("string", VOLATILE)), ("Kept", text("k"))))),))),
        ("Other", text("o")))))


def test_masking_makes_forms_that_differ_only_in_that_member_equal() -> None:
    one, other = form(body=tree({"JobStatus": "SUBMITTED", "JobId": "a"})), form(body=tree({"JobStatus": "STOPPED",
                                                                                          "JobId": "a"}))
    assert one != other and with_member_masked(one, "JobStatus") == with_member_masked(other, "JobStatus")
    assert with_member_masked(one, "JobId") != with_member_masked(other, "JobId")


@pytest.mark.parametrize("body", [None, ("a", "b", "c"), ("a",), (), text("JobStatus"), ("list", ())])
def test_masking_a_body_with_no_members_leaves_it_as_it_is(body: object) -> None:
    assert with_member_masked(form(body=body), "JobStatus") == form(body=body)


def test_an_equal_form_made_elsewhere_is_said_masked_and_compared_alike() -> None:
    # A form is a value: one that crossed a process (pickled), or whose names were built otherwise, holds equal but
    # distinct strings and numbers, and must behave as the one it equals.
    made = form(400, "JobNotFoundException", has_message=True, body=tree({
        "JobStatus": "STOPPED", "Job": {"JobStatus": {"Inner": 1}, "When": "t"}, "Items": [1, "x"], "EndTime": 5}))
    copied = pickle.loads(pickle.dumps(made))
    other = form(404, "ResourceNotFoundException", body=tree({"JobStatus": "IN_PROGRESS", "Job": {"JobStatus": {}},
                                                              "Items": [2, "x"], "EndTime": 6}))
    assert copied == made and copied.body[0] is not made.body[0]
    assert copied.describe() == made.describe() == ("400 JobNotFoundException {EndTime: number, Items: [number 1, "
                                                    "string 'x'], Job: {JobStatus: {Inner: number 1}, When: string "
                                                    "'t'}, JobStatus: string 'STOPPED'}")
    name = "".join(["Job", "Status"])
    assert with_member_masked(copied, name) == with_member_masked(made, JOB_STATUS_MEMBER)
    listed = pickle.loads(pickle.dumps(form(body=tree({"Jobs": [{"JobStatus": "X"}]}))))
    assert with_member_masked(listed, name) == form(body=("map", (
        ("Jobs", ("list", (("map", (("JobStatus", ("string", VOLATILE)),)),))),)))
    assert differences(copied, made) == differences(made, copied) == []
    assert differences(copied, other) == differences(made, other) == [
        "status 400 -> 404", "error type JobNotFoundException -> ResourceNotFoundException", "a message -> none",
        "/Items/0 number 1 -> number 2", "/Job/When missing", "/Job/JobStatus/Inner missing",
        "/JobStatus string 'STOPPED' -> string 'IN_PROGRESS'"]
    assert differences(other, copied) == differences(other, made)
