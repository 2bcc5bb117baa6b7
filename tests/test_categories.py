"""The category registry: every category a run can send is declared once, with the kind its cases have."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.cases import CATEGORIES, Kind, categories, category, kind_of
from conformance.engine.config import RunConfig
from conformance.engine.job_flow import NoLedger, planned_flow
from conformance.engine.lanes import lanes_for, select_operations
from conformance.engine.machine import PlanningSteps, StateMachine, machine_kinds, run_machine
from conformance.engine.phases.auth import SIGNINGS, UNSIGNED_ON_AWS
from conformance.engine.phases.flows import identity_probes
from conformance.generation import catalog, strategies
from conformance.generation.machine_steps import OPENING
from conformance.model.job_apis import job_api_for
from conformance.model.job_ids import near_misses
from conformance.model.operations import load_operations
from conformance.targets.target import Target

OPERATIONS = load_operations()
CONFIG = RunConfig(Target("http://127.0.0.1:1"), all_operations=True)
LANES = lanes_for(CONFIG, select_operations(CONFIG))


def test_every_family_of_every_lane_draws_a_declared_category_of_its_kind() -> None:
    for lane in LANES:
        for family in strategies.families(lane.operation, lane.protocol, OPERATIONS):
            assert category(family.category).kind is family.kind, (lane.label, family.category)


def test_every_declared_category_is_sent_by_something_and_nothing_sends_an_undeclared_one() -> None:
    named = {entry["category"] for entry in catalog.load_entries()}
    for lane in LANES:
        named |= {family.category for family in strategies.families(lane.operation, lane.protocol, OPERATIONS)}
        api = job_api_for(lane.operation.service.name, lane.operation.name)
        assert api is not None
        identity = identity_probes(CONFIG, lane, LANES, api, CONFIG.near_misses)
        named |= {case.category for _, case, _ in planned_flow(lane.operation, api, lane.protocol, identity=identity)}
    planner = PlanningSteps()  # the state machine's opening run, over every job kind
    run_machine(StateMachine(machine_kinds(LANES), planner, NoLedger(), pause=lambda seconds: None), [OPENING],
                100, 0)
    named |= {step.case.category for step in planner.planned}
    named |= {declared.name for declared, _ in (*SIGNINGS, UNSIGNED_ON_AWS)}
    named |= {categories.PROBE.name, categories.CLEANUP.name}  # the probe phase's; clean-up's, for a leftover job
    named.add(categories.NEAR_MISS_OTHER_JOB.name)  # drawn where the run has jobs of other kinds, which a plan has not
    assert named == set(CATEGORIES)


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=40))
def test_every_near_miss_of_any_id_is_a_declared_category(job_id: str) -> None:
    assert {label for label, _ in near_misses(job_id)} <= set(categories.NEAR_MISSES)


@given(st.text(min_size=1, max_size=40).filter(lambda name: name not in CATEGORIES))
def test_a_name_that_is_not_declared_has_no_kind(name: str) -> None:
    with pytest.raises(ValueError, match="unknown case category"):
        kind_of(name)


def test_a_constant_that_is_not_declared_is_an_attribute_error() -> None:
    assert categories.PROBE.name == "valid.probe" and categories.PROBE.kind is Kind.UNKNOWN_JOB
    with pytest.raises(AttributeError, match="NO_SUCH_CATEGORY"):
        categories.NO_SUCH_CATEGORY  # noqa: B018
