"""Cases sent twice: in the protocol's usual spelling, and in another legal spelling of the same document.

Every valid case is respelled, and a sample of the invalid ones whose document the protocol can carry
(a constraint broken, a member of the wrong type); the first cases each change of the protocol can be
made in make it, so that every run sends each (the deterministic floor). Each twin goes right after its original in a
lane's plan, so that a budget cuts the pair, not half of it; the twins of the cases that open their
category come after all of those, so that a budget's first requests still cover every category.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.cases import ABSENT, Case, Kind, Signing
from conformance.generation.drawer import Drawer
from conformance.generation.spellings import Spelling, each_change, spellings
from conformance.protocols.awsjson import encode_document
from conformance.wire import cbor
from conformance.wire.protocol_facts import ProtocolName

_USUAL = {ProtocolName.AWS_JSON_1_1: encode_document, ProtocolName.RPC_V2_CBOR: cbor.encode}
# Valid requests: every one is respelled. Invalid ones whose body is a document: a share of them.
ALWAYS = frozenset({Kind.UNKNOWN_JOB, Kind.EXTRA_MEMBER})
SAMPLED = frozenset({Kind.CONSTRAINT, Kind.SERIALIZATION})
SAMPLED_SHARE = 0.25
DRAWS = 4  # spellings drawn for a case before it goes without a twin (each may change nothing in it)


def respelled(case: Case, spelling: Spelling) -> Case | None:
    """The case with its document in `spelling`; None where it has no document to respell (raw bytes, another
    path or method, a deliberately wrong signature), the spelling cannot write it (NaN in JSON), or changes
    nothing in it."""
    if case.document is ABSENT or case.raw_body is not None or case.path or case.method \
            or case.signing is not Signing.SIGV4:
        return None
    try:
        body = spelling.write(case.document)
        if not spelling.changes_anything(case.document) or body == _USUAL[spelling.protocol](case.document):
            return None
    except (ValueError, TypeError, OverflowError):
        return None
    return Case(case.operation, case.category, case.kind, case.description, case.document, body, case.headers,
                job_id=case.job_id, spelling=spelling.label)


def with_respellings(cases: Iterator[Case], protocol: ProtocolName, seed: int) -> Iterator[Case]:
    """The cases, each respelled one followed by its twin (the same seed draws the same twins); the twins of the
    first cases of their categories held back until the first case of a category already seen comes. Each change
    of the protocol is made, wherever it can be, in the twin of the first case it changes anything in
    (`each_change`): every run sends every change its cases allow. The other twins draw one to three changes,
    made here and there."""
    drawer: Drawer[Spelling] = Drawer(spellings(protocol), seed)
    floor = list(each_change(protocol))
    seen: set[str] = set()
    held: list[Case] | None = []  # None once the first cases of every category have gone
    for case in cases:
        opens = case.category not in seen
        seen.add(case.category)
        if held is not None and not opens:
            yield from held
            held = None
        yield case
        twin = _twin(case, floor, drawer)
        if twin is None:
            continue
        if held is not None:
            held.append(twin)
        else:
            yield twin
    yield from held or []


def _twin(case: Case, floor: list[Spelling], drawer: Drawer[Spelling]) -> Case | None:
    """The case's twin: in the first spelling of `floor` that changes it (taken off the floor), else, for a valid
    case or one of SAMPLED_SHARE of the invalid ones, in a drawn spelling (of DRAWS, the first that changes it);
    None for no twin."""
    if case.kind not in ALWAYS | SAMPLED:
        return None
    for index, spelling in enumerate(floor):
        twin = respelled(case, spelling)
        if twin is not None:
            del floor[index]
            return twin
    if case.kind in ALWAYS or drawer.random.random() < SAMPLED_SHARE:
        for _ in range(DRAWS):
            twin = respelled(case, drawer.draw())
            if twin is not None:
                return twin
    return None
