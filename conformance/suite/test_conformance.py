"""Every case family of every operation, as Hypothesis tests; the example catalog; the job lifecycle.

Hypothesis's own options apply (`--hypothesis-seed`, `--hypothesis-profile`); a failing family
is shrunk to its simplest failing case, reported in the suite's fixed layout.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import examples, strategies
from conformance.cases import Case
from conformance.checks import REGISTRY
from conformance.execute import CaseResult, execute
from conformance.lifecycle import job_flow, transport_sender
from conformance.model import Operation, load_operations
from conformance.protocols import SUPPORTED, WireProtocol, get_protocol
from conformance.report import failure_record
from conformance.report.terminal import format_failure
from conformance.services import job_api_for
from conformance.target import Target
from conformance.transport import Transport

OPERATIONS = load_operations()
LANES = [(op, get_protocol(name)) for op in OPERATIONS for name in op.service.protocols if name in SUPPORTED]
FAMILIES = [(op, protocol, family) for op, protocol in LANES
            for family in strategies.families(op, protocol, OPERATIONS)]
CATALOG = [(op, protocol, case) for op, protocol in LANES
           for case in examples.cases_for(op, protocol.name, OPERATIONS, examples.load_entries(),
                                          protocol.inexpressible)]
pytestmark = pytest.mark.usefixtures("conformance_lane")


def _judge(result: CaseResult, target: Target) -> None:
    """Fail with every error-severity check failure in the suite's fixed layout."""
    if result.not_judged:
        pytest.skip(f"not judged: {result.not_judged_detail or result.not_judged.value}")
    failures = [(check, verdict) for check, verdict in result.failures().items()
                if REGISTRY[check].severity == "error"]
    if failures:
        raise AssertionError("\n\n".join(
            format_failure(failure_record(result, check, verdict, target, [])) for check, verdict in failures))


@pytest.mark.parametrize(("operation", "protocol", "family"), FAMILIES,
                         ids=[f"{op.name}-{protocol.name}-{family.category}" for op, protocol, family in FAMILIES])
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_family(operation: Operation, protocol: WireProtocol, family: strategies.Family, data: st.DataObject,
                conformance_transport: Transport, conformance_target: Target) -> None:
    case = data.draw(family.strategy, label="case")
    _judge(execute(operation, case, protocol, conformance_transport), conformance_target)


@pytest.mark.parametrize(("operation", "protocol", "case"), CATALOG,
                         ids=[f"{op.name}-{p.name}-{case.category}-{i}" for i, (op, p, case) in enumerate(CATALOG)])
def test_catalog_example(operation: Operation, protocol: WireProtocol, case: Case, conformance_transport: Transport,
                         conformance_target: Target) -> None:
    _judge(execute(operation, case, protocol, conformance_transport), conformance_target)


@pytest.mark.parametrize(("operation", "protocol"), LANES, ids=[f"{op.name}-{p.name}" for op, p in LANES])
def test_stop_a_job_the_suite_started(operation: Operation, protocol: WireProtocol, conformance_transport: Transport,
                                      conformance_target: Target) -> None:
    api = job_api_for(operation.service.name, operation.name)
    if api is None or not conformance_target.creates_jobs:
        pytest.skip("the suite may not start jobs on this target")
    send = transport_sender(protocol, conformance_transport, lane_operation=operation.name)
    for result in job_flow(operation, api, send, conformance_transport.jobs, conformance_target.job_setup):
        _judge(result, conformance_target)
