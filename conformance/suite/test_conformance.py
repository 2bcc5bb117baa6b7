"""Every case family of every operation, as Hypothesis tests; the example catalog; the job lifecycle.

Hypothesis's own options apply (`--hypothesis-seed`, `--hypothesis-profile`); a failing family
is shrunk to its simplest failing case, reported in the suite's fixed layout. Tests take the
names of their operation, protocol and family or example (short in Hypothesis's report of a
failure, stable as test ids) and look the objects up here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.cases import Case
from conformance.engine.config import LifecycleConfig
from conformance.engine.execute import execute
from conformance.engine.job_flow import job_flow, transport_sender
from conformance.engine.results import CaseResult
from conformance.engine.transport import Transport
from conformance.generation import catalog, strategies
from conformance.judging.check_results import Severity
from conformance.judging.checks import severity
from conformance.model.job_apis import job_api_for
from conformance.protocols import SUPPORTED, get_protocol
from conformance.pytest_plugin import judged_checks, new_failures, selected_operations
from conformance.report import failure_record
from conformance.report.terminal import format_failure
from conformance.targets.target import Target

T = TypeVar("T")
LaneKey = tuple[str, str]  # (operation name, protocol name)

# The operations under test (--conformance-schemas, --conformance-all-operations; default: the mission's two), and
# every operation of their schema folder (the cases that name another operation draw from those).
SELECTED, OPERATIONS = selected_operations()
BY_NAME = {op.name: op for op in OPERATIONS}
LANES: list[LaneKey] = [(op.name, name) for op in SELECTED for name in op.service.protocols if name in SUPPORTED]


def _slug(text: str) -> str:
    """Text as a test id part: lower case words joined by `_`."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _unique(keyed: Iterable[tuple[tuple[str, str, str], T]], what: str) -> dict[tuple[str, str, str], T]:
    """The items by key; two with one key would silently share a test id, so that is an error."""
    found: dict[tuple[str, str, str], T] = {}
    for key, item in keyed:
        if key in found:
            raise ValueError(f"two {what} share the test id {'-'.join(key)}")
        found[key] = item
    return found


def family_ids(families: list[strategies.Family]) -> list[str]:
    """Each family's id in its lane: its category, with its description added where the category repeats."""
    repeated = Counter(family.category for family in families)
    return [family.category if repeated[family.category] == 1 else f"{family.category}-{_slug(family.description)}"
            for family in families]


def lane_families(lane: LaneKey) -> Iterator[tuple[str, strategies.Family]]:
    """One lane's families, by id."""
    found = strategies.families(BY_NAME[lane[0]], get_protocol(lane[1]), OPERATIONS)
    return zip(family_ids(found), found)


def example_id(entry: dict[str, Any]) -> str:
    """A catalog entry's id: its category and a digest of its content, so inserting or moving entries keeps it."""
    digest = hashlib.sha256(json.dumps(entry, sort_keys=True).encode("utf-8")).hexdigest()[:8]
    return f"{entry['category']}-{digest}"


def catalog_cases(entries: list[dict[str, Any]]) -> dict[tuple[str, str, str], Case]:
    """Every lane's catalog cases, by (operation, protocol, example id)."""
    return _unique((((op, protocol, example_id(entry)), case) for op, protocol in LANES for entry in entries
                    for case in catalog.cases_for(BY_NAME[op], protocol, OPERATIONS, [entry],
                                                   get_protocol(protocol).inexpressible)), "catalog examples")


FAMILIES = _unique((((*lane, name), family) for lane in LANES for name, family in lane_families(lane)), "families")
FAMILY_COUNTS = Counter((op, protocol) for op, protocol, _ in FAMILIES)
CATALOG = catalog_cases(catalog.load_entries())
pytestmark = pytest.mark.usefixtures("conformance_lane", "conformance_baseline")


def _params(keys: Iterable[tuple[str, ...]]) -> list[Any]:
    """Test parameters: the names themselves, their id the names joined by `-`."""
    return [pytest.param(*key, id="-".join(key)) for key in keys]


def _judge(result: CaseResult, target: Target) -> None:
    """Fail with every error-severity check failure in the suite's fixed layout."""
    __tracebackhide__ = True  # the suite's layout says what failed; pytest's traceback of this helper adds nothing
    if result.not_judged:
        pytest.skip(f"not judged: {result.not_judged_detail or result.not_judged.value}")
    failures = new_failures(result, judged_checks([(check, verdict) for check, verdict in result.failures().items()
                                                   if severity(check) is Severity.ERROR]))  # less a baseline's
    if failures:
        raise AssertionError("\n\n".join(
            format_failure(failure_record(result, check, verdict, target, [])) for check, verdict in failures))


@pytest.fixture
def family_examples(request: pytest.FixtureRequest, conformance_max_examples: int | None) -> Iterator[None]:
    """Spread --conformance-max-examples over the lane's families: this family test's Hypothesis max_examples."""
    test = request.function
    if conformance_max_examples is None:  # the user chose a Hypothesis profile: its max_examples applies
        yield
        return
    params = request.node.callspec.params
    share = max(1, conformance_max_examples // FAMILY_COUNTS[(params["operation"], params["protocol"])])
    # Hypothesis reads a test's settings from this attribute at each call; @settings cannot be applied twice.
    chosen = test._hypothesis_internal_use_settings
    test._hypothesis_internal_use_settings = settings(chosen, max_examples=share)
    try:
        yield
    finally:
        test._hypothesis_internal_use_settings = chosen


@pytest.mark.parametrize(("operation", "protocol", "family"), _params(FAMILIES))
@pytest.mark.usefixtures("family_examples")
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_family(operation: str, protocol: str, family: str, data: st.DataObject,
                conformance_transport: Transport) -> None:
    # The target is the transport's: Hypothesis prints every argument of a failing test, and a Target's repr is long.
    case = data.draw(FAMILIES[(operation, protocol, family)].strategy, label="case")
    _judge(execute(BY_NAME[operation], case, get_protocol(protocol), conformance_transport),
           conformance_transport.target)


@pytest.mark.parametrize(("operation", "protocol", "example"), _params(CATALOG))
def test_catalog_example(operation: str, protocol: str, example: str, conformance_transport: Transport,
                         conformance_target: Target) -> None:
    case = CATALOG[(operation, protocol, example)]
    _judge(execute(BY_NAME[operation], case, get_protocol(protocol), conformance_transport), conformance_target)


@pytest.mark.parametrize(("operation", "protocol"), _params(LANES))
def test_stop_a_job_the_suite_started(operation: str, protocol: str, conformance_transport: Transport,
                                      conformance_target: Target, conformance_lifecycle: LifecycleConfig) -> None:
    api = job_api_for(BY_NAME[operation].service.name, operation)
    if api is None or not conformance_target.creates_jobs:
        pytest.skip("the suite may not start jobs on this target")
    send = transport_sender(get_protocol(protocol), conformance_transport, lane_operation=operation)
    for result in job_flow(BY_NAME[operation], api, send, conformance_transport.jobs, conformance_target.job_setup,
                           conformance_lifecycle):
        _judge(result, conformance_target)
