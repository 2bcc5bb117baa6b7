"""The state machine's steps: what each run of it does, as a list of abstract actions, drawn with Hypothesis.

An action names the job it acts on, the kind of job it starts and the protocol it goes over as
indices, resolved when the run takes it against what the run has by then (the jobs it has started,
the kinds and lanes the endpoint serves), modulo their number. So any list of actions is a run that
can be sent. A run keeps its actions as it took them, each index the one it resolved to; leaving
some out of that (`without`: with the actions on the jobs their Starts made, the later jobs
renumbered) gives a run that does the same to the same jobs, less what was left out: that is what
lets a failing run shrink to the shortest run that still fails (`smaller`).

The first run is the same whatever the seed (`OPENING`): it takes every kind of step at least once,
in an order that shows what a lifecycle fault would break. The runs after it are drawn from the
seed (`draw_runs`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from hypothesis import strategies as st

from conformance.generation.drawer import Drawer

MAX_JOBS = 4  # jobs a run starts at most (the opening starts four): each job started on AWS costs money
RUN_ACTIONS = 16  # actions of a drawn run at most
_INDICES = 24  # how far drawn indices go: far enough past every count they are taken modulo (12 kinds, 2 lanes)


class Verb(enum.Enum):
    """What an action does."""

    START = "start"  # start a job of a kind
    DESCRIBE = "describe"  # describe a job
    STOP = "stop"  # stop a job (again, once stopped, once ended: whatever it is by then)
    SETTLE = "settle"  # describe a stopping job until it settles (a job not stopping: describe it once)
    STOP_AS_OTHER = "stop as another kind"  # another kind's Stop with a job's id
    DESCRIBE_AS_OTHER = "describe as another kind"  # another kind's Describe with a job's id


@dataclass(frozen=True)
class Action:
    """One abstract step of a run; each index is taken modulo what the run has when it takes the step."""

    verb: Verb
    job: int = 0  # which of the run's jobs, in the order it started them
    kind: int = 0  # START: which of the run's kinds; *_AS_OTHER: which of the kinds other than the job's
    protocol: int = 0  # which of the kind's served lanes (protocols)

    def label(self) -> str:
        """e.g. `stop job 1`: how a step list shows the action before it is resolved."""
        if self.verb is Verb.START:
            return f"start a job of kind {self.kind + 1}"
        return f"{self.verb.value} job {self.job + 1}"


S, D, T, W = Verb.START, Verb.DESCRIBE, Verb.STOP, Verb.SETTLE
# The first run, the same in every seed. Kinds are ordered so that the run's second kind is of another service
# where the run has two services (`engine.machine` orders them so). Jobs: A (0) and B (1) of the first kind,
# C (2) of the second, D (3) of the first again. Protocols alternate, so that a job started over one protocol
# is described and stopped over the other where both are served.
OPENING: tuple[Action, ...] = (
    Action(S, kind=0, protocol=0),  # A
    Action(S, kind=0, protocol=1),  # B: a second job of A's kind
    Action(S, kind=1, protocol=0),  # C: a job of another kind (of another service, where the run has two)
    Action(D, job=0, protocol=1),
    Action(Verb.STOP_AS_OTHER, job=2, kind=0, protocol=0),  # another kind's Stop with C's id: no such job
    Action(Verb.DESCRIBE_AS_OTHER, job=0, kind=0, protocol=1),  # another kind's Describe with A's id: no such job
    Action(D, job=2, protocol=1),  # C is untouched
    Action(T, job=0, protocol=0),  # stop A
    Action(D, job=0, protocol=1),  # A while it stops
    Action(D, job=1, protocol=0),  # B is untouched by A's stop
    Action(T, job=0, protocol=1),  # stop A again
    Action(S, kind=0, protocol=0),  # D: a job of A's kind, started after A was stopped
    Action(D, job=0, protocol=0),  # A is still found
    Action(W, job=0, protocol=1),  # A settles
    Action(T, job=0, protocol=0),  # stop A once it has settled
    Action(D, job=0, protocol=1),  # A keeps its status
    Action(Verb.STOP_AS_OTHER, job=0, kind=0, protocol=1),  # another kind's Stop with the settled A's id
    Action(Verb.DESCRIBE_AS_OTHER, job=0, kind=1, protocol=0),  # its Describe (of A's service, where it has two kinds)
    Action(D, job=1, protocol=1),
    Action(T, job=1, protocol=0),
    Action(T, job=2, protocol=1),  # D is left running: the run's clean-up stops it
)

# Verbs a drawn action takes, as often as they stand here: mostly looks at jobs and stops of them.
_DRAWN_VERBS = (S, S, D, D, D, T, T, W, Verb.STOP_AS_OTHER, Verb.DESCRIBE_AS_OTHER)


def actions(max_size: int = RUN_ACTIONS) -> st.SearchStrategy[list[Action]]:
    """A run's actions: a Start, then up to `max_size - 1` more (at least half as many) of any verb, job, kind
    and protocol."""
    index, protocol = st.integers(0, _INDICES - 1), st.integers(0, 1)
    first = st.builds(Action, st.just(Verb.START), st.just(0), index, protocol)
    rest = st.lists(st.builds(Action, st.sampled_from(_DRAWN_VERBS), index, index, protocol),
                    min_size=max(0, max_size // 2 - 1), max_size=max(0, max_size - 1))
    return st.tuples(first, rest).map(lambda drawn: [drawn[0], *drawn[1]])


def draw_runs(seed: int, max_size: int = RUN_ACTIONS) -> Iterator[list[Action]]:
    """The drawn runs, one after another, the same ones for the same seed (see `generation.drawer`)."""
    drawer: Drawer[list[Action]] = Drawer(actions(max_size), seed)
    while True:
        yield drawer.draw()


def without(run: Sequence[Action], left_out: Iterable[int]) -> list[Action] | None:
    """`run` (as taken: every index the one it resolved to, a START's `job` the job it started, -1 for none) with
    the actions at `left_out` left out, and every action on a job whose Start is left out too, the later jobs
    renumbered; None where that leaves out the last action."""
    dropped = set(left_out)
    gone = sorted(run[at].job for at in dropped if run[at].verb is Verb.START and run[at].job >= 0)
    kept: list[Action] = []
    for at, action in enumerate(run):
        if at in dropped or (action.verb is not Verb.START and action.job in gone):
            if at == len(run) - 1:
                return None
            continue
        shift = sum(1 for job in gone if job < action.job)
        kept.append(replace(action, job=action.job - shift) if shift else action)
    return kept


def smaller(run: Sequence[Action]) -> Iterator[list[Action]]:
    """Shorter or simpler runs than `run` (as taken, see `without`; its last action is the one that failed, so it is
    kept), most promising first: chunks of the actions before it left out, halves first, then single actions from
    the end; then each action over the first protocol. A shrinker tries them in turn, and starts again from the
    first that still fails. The very first is the failing action's job alone (its Start and what was done to it),
    which is all a fault of one job needs."""
    before = len(run) - 1
    failing = run[-1]
    if failing.verb is not Verb.START:
        alone = without(run, (at for at, action in enumerate(run[:-1]) if action.job != failing.job))
        if alone is not None and len(alone) < len(run):
            yield alone
    chunk = before // 2
    while chunk >= 1:
        for start in range(before - chunk, -1, -chunk):
            candidate = without(run, range(start, start + chunk))
            if candidate is not None:
                yield candidate
        chunk //= 2
    for at, action in enumerate(run):
        if action.protocol:
            yield [*run[:at], replace(action, protocol=0), *run[at + 1:]]
