"""The case-category registry's own rules: how `categories.toml` is read (a kind that does not exist, a name or a
constant declared twice), how a category is looked up, and the derived tables (near misses, the state machine's
categories, the wrong-type families')."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cases import CATEGORIES, Category, Kind, categories, category, kind_of
from conformance.cases.categories import _declared


def test_a_table_is_read_into_categories_by_constant_each_with_its_kind() -> None:
    table = {"auth": {"ONE": ["auth.one", "the first"]},
             "near_miss": {"TWO": ["near_miss.two", "the second"], "THREE": ["near_miss.three", "the third"]}}
    assert _declared(table) == {"ONE": Category("auth.one", Kind.AUTH, "the first"),
                                "TWO": Category("near_miss.two", Kind.NEAR_MISS, "the second"),
                                "THREE": Category("near_miss.three", Kind.NEAR_MISS, "the third")}
    assert _declared({}) == {}


def test_a_kind_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^'no_such_kind' is not a valid Kind$"):
        _declared({"no_such_kind": {"ONE": ["auth.one", "the first"]}})


def test_a_name_declared_twice_is_refused_even_under_two_constants_of_two_kinds() -> None:
    with pytest.raises(ValueError) as raised:
        _declared({"auth": {"ONE": ["same.name", "the first"]}, "unclaimed": {"TWO": ["same.name", "the second"]}})
    assert str(raised.value) == "case category TWO ('same.name') is declared twice"


def test_a_constant_declared_twice_is_refused_even_for_two_names_of_two_kinds() -> None:
    with pytest.raises(ValueError) as raised:
        _declared({"auth": {"ONE": ["auth.one", "the first"]}, "unclaimed": {"ONE": ["unclaimed.one", "another"]}})
    assert str(raised.value) == "case category ONE ('unclaimed.one') is declared twice"


def test_a_declared_category_is_found_by_its_name_and_by_its_constant() -> None:
    assert category("valid.probe") is categories.PROBE is CATEGORIES["valid.probe"]
    assert categories.PROBE == Category("valid.probe", Kind.UNKNOWN_JOB,
                                        "the probe: is the lane (operation over protocol) served?")
    assert kind_of("invalid.length.too_long") is Kind.CONSTRAINT
    assert kind_of("machine.other_kind") is Kind.NEAR_MISS
    assert all(category(name).name == name for name in CATEGORIES)


def test_a_category_is_a_value_that_cannot_change() -> None:
    # Categories are looked up by value (rows, sets of categories): equal ones hash alike, and none can be altered.
    assert len({categories.PROBE, category("valid.probe"), Category("valid.probe", Kind.UNKNOWN_JOB, "x")}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        categories.PROBE.name = "valid.other"  # type: ignore[misc]


def test_an_undeclared_name_is_a_value_error_that_names_it() -> None:
    for look_up in (category, kind_of):
        with pytest.raises(ValueError) as raised:
            look_up("valid.no_such_thing")
        assert str(raised.value) == "unknown case category 'valid.no_such_thing'"


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=30).filter(lambda name: name not in CATEGORIES))
def test_no_undeclared_name_has_a_category(name: str) -> None:
    with pytest.raises(ValueError, match="^unknown case category "):
        category(name)


def test_an_undeclared_constant_is_an_attribute_error_that_names_it() -> None:
    with pytest.raises(AttributeError) as raised:
        categories.NO_SUCH_CATEGORY  # noqa: B018
    assert str(raised.value) == "no case category is declared as NO_SUCH_CATEGORY"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert not hasattr(categories, "valid_probe")  # a constant, not a name spelt otherwise


def test_near_misses_are_the_near_miss_kind_s_near_miss_categories_by_label() -> None:
    assert set(categories.NEAR_MISSES) == {
        "upper_case", "one_replaced", "trailing_space", "trailing_newline", "leading_space", "prefix", "suffix_added",
        "case", "normalization", "look_alike", "escape", "invisible", "truncated", "extended", "other_job"}
    assert all(declared is category(f"near_miss.{label}") for label, declared in categories.NEAR_MISSES.items())
    # The state machine's other-kind steps are of the kind too, but no near miss of a started job's id.
    assert categories.MACHINE_OTHER_KIND.kind is Kind.NEAR_MISS
    assert categories.MACHINE_OTHER_KIND not in categories.NEAR_MISSES.values()


def test_the_machine_categories_are_those_under_its_prefix() -> None:
    assert categories.MACHINE_PREFIX == "machine."
    assert categories.MACHINE == {"machine.start", "machine.describe", "machine.settle", "machine.stop",
                                  "machine.cleanup", "machine.other_kind", "machine.other_service"}
    assert isinstance(categories.MACHINE, frozenset)


def test_each_wrong_type_family_draws_its_json_type_s_category() -> None:
    assert categories.WRONG_TYPES == {
        "number": category("invalid.type.number"), "boolean": category("invalid.type.boolean"),
        "null": category("invalid.type.null"), "array": category("invalid.type.array"),
        "object": category("invalid.type.object")}
