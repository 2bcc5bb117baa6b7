"""Hypothesis strategies for cases, derived from each operation's request schema.

One module per family, as in Hypothesis's own `strategies/_internal`: `alphabet` (characters a
pattern allows or forbids), `strings` (labelled valid and invalid member values), `bodies` (whole
documents); `awsjson_families` and `rpcv2cbor_families` add what only that protocol can express (the
wire layer, `conformance.protocols`, only encodes and decodes).

Strategies are built once per (operation, protocol, the other operations) and shared (`generation.cache`):
`families` and `any_case` return the same objects for equal arguments, and no strategy is built while a
case is drawn (`generation.drawer` draws them).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from conformance.cases import Case
from conformance.generation.cache import cached
from conformance.generation.strategies import awsjson_families, rpcv2cbor_families
from conformance.generation.strategies.bodies import Family
from conformance.generation.strategies.bodies import families as document_families
from conformance.model.operations import Operation
from conformance.protocols import ProtocolName, WireProtocol

__all__ = ["PROTOCOL_FAMILIES", "Family", "any_case", "families", "lane_key"]

# The families each protocol adds, by the protocol's Smithy name.
PROTOCOL_FAMILIES = {ProtocolName.AWS_JSON_1_1: awsjson_families.families,
                     ProtocolName.RPC_V2_CBOR: rpcv2cbor_families.families}


def lane_key(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) -> tuple[Any, ...]:
    """Everything the families of a lane are built from, hashable: the operation (name, service, request schema),
    the protocol and what it cannot carry, and the other operations' names and services."""
    return (operation.name, repr(operation.service), json.dumps(operation.request, sort_keys=True), protocol.name,
            tuple(sorted(protocol.inexpressible)),
            tuple((op.name, repr(op.service)) for op in all_operations))


@cached(key=lane_key)
def _built_families(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) \
        -> tuple[Family, ...]:
    found = document_families(operation) + PROTOCOL_FAMILIES[protocol.name](operation, all_operations)
    return tuple(family for family in found if family.category not in protocol.inexpressible)


def families(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) -> list[Family]:
    """Every family of cases for one operation over one protocol (less what the protocol cannot carry); built once
    for equal arguments."""
    return list(_built_families(operation, protocol, all_operations))


@cached(key=lane_key)
def any_case(operation: Operation, protocol: WireProtocol, all_operations: list[Operation]) -> st.SearchStrategy[Case]:
    """A case from any family, each family equally likely; built once for equal arguments."""
    return st.one_of([family.strategy for family in families(operation, protocol, all_operations)])
