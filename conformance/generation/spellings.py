"""Other legal spellings of one request document, drawn: the same value, other bytes (`wire.spellings` writes
them).

A server must read every spelling its protocol allows as the same document, so a document and each of
its spellings must get the same answer (the `spellings_agree` check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.wire import spellings as writers
from conformance.wire.protocol_facts import ProtocolName
from conformance.wire.spellings import CBOR_CHANGES, JSON_CHANGES, changes_of

__all__ = ["CBOR_CHANGES", "JSON_CHANGES", "Spelling", "each_change", "same_id_spelling", "spellings"]


@dataclass(frozen=True)
class Spelling:
    """One way to spell a document other than the usual: what changes, and the random choices behind it."""

    protocol: ProtocolName
    changes: tuple[str, ...]  # e.g. ("escape all", "white space"): what the spelling changes, for reports
    choices: int  # the seed of the writer's own choices (where to escape, split, reorder)
    everywhere: bool = False  # each change made wherever it can be (else: here and there, as the choices say)

    def changes_anything(self, document: Any) -> bool:
        """Whether the spelling writes the document otherwise than with no change at all (member order changes
        nothing in a map of one member, short floats nothing without floats...)."""
        return self.write(document) != Spelling(self.protocol, (), 0).write(document)

    @property
    def label(self) -> str:
        """How reports name the spelling."""
        return ", ".join(self.changes)

    def write(self, document: Any) -> bytes:
        """The document in this spelling (ValueError for a value the format cannot hold)."""
        return writers.write(self.protocol, document, self.changes, self.choices, self.everywhere)


def spellings(protocol: ProtocolName) -> st.SearchStrategy[Spelling]:
    """Spellings of the protocol: one to three changes at once, and the seed of their choices."""
    changes = changes_of(protocol)
    return st.builds(Spelling, st.just(protocol), st.lists(st.sampled_from(changes), min_size=1, max_size=3,
                                                            unique=True).map(lambda chosen: tuple(sorted(chosen))),
                     st.integers(0, 2**32 - 1))


def each_change(protocol: ProtocolName) -> tuple[Spelling, ...]:
    """One spelling per change of the protocol, each made wherever it can be: a run's first respellings, so that
    every run sends every change."""
    return tuple(Spelling(protocol, (change,), index, everywhere=True)
                 for index, change in enumerate(changes_of(protocol)))


def same_id_spelling(protocol: ProtocolName) -> Spelling:
    """The spelling a job flow sends a real JobId in, to show it still names the job: every character escaped
    (JSON), every string in chunks in an indefinite-length map (CBOR)."""
    if protocol is ProtocolName.RPC_V2_CBOR:
        return Spelling(protocol, ("chunked strings", "indefinite maps"), 0, everywhere=True)
    return Spelling(protocol, ("escape all",), 0)
