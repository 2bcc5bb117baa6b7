"""Which operations a run tests, over which protocols (its lanes), and which lanes must be served."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.cases import LaneKey, lane_label
from conformance.engine.config import ConfigurationError, RunConfig
from conformance.model import botocore_model
from conformance.model.operations import Operation, default_schema_dir, document_name, load_operations
from conformance.protocols import SUPPORTED, WireProtocol, get_protocol

# The operations of the project's mission: what a run tests unless told otherwise.
MISSION_OPERATIONS = (("comprehend", "StopPiiEntitiesDetectionJob"), ("comprehendmedical", "StopPHIDetectionJob"))


@dataclass(frozen=True)
class Lane:
    """One operation over one protocol: the unit a run plans, probes and reports."""

    operation: Operation
    protocol: WireProtocol

    @property
    def key(self) -> LaneKey:
        """(operation name, protocol name)."""
        return (self.operation.name, self.protocol.name)

    @property
    def label(self) -> str:
        """How reports name it."""
        return lane_label(*self.key)


def select_operations(config: RunConfig) -> list[Operation]:
    """The operations a run covers (see `choose_operations`)."""
    return choose_operations(config.schema_dir, config.operations, config.all_operations)


def choose_operations(schema_dir: Path | None, named: tuple[str, ...] = (), all_operations: bool = False) \
        -> list[Operation]:
    """The operations named; else every one of a chosen schema folder (or all_operations); else the mission's two.
    ConfigurationError names unknown ones, a missing mission document, and a document that lists no protocol the
    suite speaks."""
    everything = load_operations(schema_dir)
    names = {op.name for op in everything}
    folder = schema_dir or default_schema_dir()
    whole_folder = all_operations or schema_dir is not None
    if not everything:
        raise ConfigurationError(f"{folder}: no schema documents (derive them with `conformance schemas`)")
    wanted = set(named or (names if whole_folder else {name for _, name in MISSION_OPERATIONS}))
    # The mission's operations must not drop out of a run (which would then conform) with their documents.
    missing = [(service, name) for service, name in MISSION_OPERATIONS if name in wanted and name not in names]
    if missing:
        files = ", ".join(str(folder / document_name(service, name)) for service, name in missing)
        raise ConfigurationError(f"{files}: no schema document for {', '.join(name for _, name in missing)}, which "
                                 "the suite tests")
    unknown = [name for name in named if name not in names]
    if unknown:
        raise ConfigurationError(f"unknown operation(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    selected = [op for op in everything if op.name in wanted]
    unspoken = next((op for op in selected if not set(op.service.protocols) & set(SUPPORTED)), None)
    if unspoken is not None:
        raise ConfigurationError(f"{unspoken.path or unspoken.name}: {unspoken.name} lists protocols "
                                 f"{', '.join(unspoken.service.protocols)}, none of which the suite speaks "
                                 f"({', '.join(SUPPORTED)})")
    return selected


def lanes_for(config: RunConfig, operations: list[Operation]) -> list[Lane]:
    """Every operation over every protocol its model lists that this suite speaks, as `config.protocol` narrows it."""
    wanted = SUPPORTED if config.protocol == "all" else (get_protocol(config.protocol).name,)
    return [Lane(operation, get_protocol(name)) for operation in operations
            for name in operation.service.protocols if name in wanted]


def required_lanes(config: RunConfig, lanes: list[Lane]) -> set[LaneKey]:
    """The lanes that must be served: each operation over the protocol AWS SDKs send it (botocore's choice among
    those its model lists), and over any protocol named with --protocol."""
    required = {lane.key for lane in lanes if config.protocol == lane.protocol.name}
    for lane in lanes:
        if botocore_model.sdk_protocol(lane.operation.service.protocols) == lane.protocol.name:
            required.add(lane.key)
    return required
