"""Hypothesis strategies for cases, derived from each operation's request schema.

One module per family, as in Hypothesis's own `strategies/_internal`: `alphabet` (characters a
pattern allows or forbids), `strings` (labelled valid and invalid member values), `bodies` (whole
documents); `awsjson` and `rpcv2cbor` add what only that protocol can express (the wire layer,
`conformance.protocols`, only encodes and decodes).
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.cases import Case
from conformance.model import Operation
from conformance.protocols import WireProtocol
from conformance.strategies import awsjson, rpcv2cbor
from conformance.strategies.bodies import Family
from conformance.strategies.bodies import families as document_families

# The families each protocol adds, by the protocol's Smithy name.
PROTOCOL_FAMILIES = {"awsJson1_1": awsjson.families, "rpcv2Cbor": rpcv2cbor.families}


def families(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) -> list[Family]:
    """Every family of cases for one operation over one protocol (less what the protocol cannot carry)."""
    found = document_families(operation) + PROTOCOL_FAMILIES[protocol.name](operation, all_operations)
    return [family for family in found if family.category not in protocol.inexpressible]


def any_case(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) -> st.SearchStrategy[Case]:
    """A case from any family, each family equally likely."""
    return st.one_of([family.strategy for family in families(operation, protocol, all_operations)])


def draw_cases(strategy: st.SearchStrategy[Case], count: int, seed: int) -> list[Case]:
    """`count` draws from a strategy, the same ones for the same seed (no database, no shrinking)."""
    if count <= 0:
        return []
    drawn: list[Case] = []

    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(strategy)
    def collect(case: Case) -> None:
        drawn.append(case)

    hypothesis_seed(seed)(collect)()
    return drawn
