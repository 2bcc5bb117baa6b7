"""The verdict of a run and its exit status, decided in one place from the run's outcomes alone.

The coverage contract: a run `conforms` only when no error-severity check failed, no job was left
running, and it has proof of coverage:
- every lane that must be served is served: each selected operation over the protocol AWS SDKs
  send it (botocore's choice among the protocols its model lists), and over each `--protocol`;
- every category each phase promised for a served lane was judged.
A breach of the first kind is a failure. A run with no failure that misses a promised category
(a budget too small, cases throttled past their retries) is `incomplete`. A run in which the
target answered nothing at all is `unreachable`.

With a baseline (`engine.baseline`), a failure whose cause is one of its entries is accepted: it is reported, and
does not fail the run; a new one fails it as without a baseline, and so does (with `strict`) an entry the run tested
and did not reproduce.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from conformance.cases import LaneKey, lane_label
from conformance.cases.categories import PROBE
from conformance.engine.baseline import Baseline, BaselineJudgement, Entry, cause_of, judge
from conformance.engine.results import CHOSEN_SKIPS, CaseResult, LaneState, RunResult
from conformance.judging.check_results import Failed, NotApplicable, Severity
from conformance.judging.checks import severity
from conformance.wire.http import clipped


class Verdict(enum.Enum):
    """What a run concludes; the value is how the JSON report spells it."""

    CONFORMS = "conforms"
    DOES_NOT_CONFORM = "does_not_conform"
    INCOMPLETE = "incomplete"
    UNREACHABLE = "unreachable"
    INTERRUPTED = "interrupted"


# The exit status of each verdict; 2 (usage) and 130 (interrupted) are the command line's own.
EXIT_STATUS = {Verdict.CONFORMS: 0, Verdict.DOES_NOT_CONFORM: 1, Verdict.UNREACHABLE: 3, Verdict.INCOMPLETE: 4,
               Verdict.INTERRUPTED: 130}
EXIT_USAGE, EXIT_INTERRUPTED = 2, EXIT_STATUS[Verdict.INTERRUPTED]

class BreachKind(enum.Enum):
    """How a run falls short of the contract."""

    NOT_SERVED = "a lane that must be served is not"  # a failure
    NOT_PROBED = "a lane that must be served was not probed"  # incomplete: the budget
    NOT_JUDGED = "promised case categories were not judged"  # incomplete
    JOB_LEFT_RUNNING = "a job the run started could not be stopped"  # a failure


FAILING_BREACHES = frozenset({BreachKind.NOT_SERVED, BreachKind.JOB_LEFT_RUNNING})


@dataclass(frozen=True)
class Breach:
    """One shortfall, with the lane and the data that show it."""

    kind: BreachKind
    lane: LaneKey | None = None
    categories: tuple[str, ...] = ()
    detail: str = ""
    probe: CaseResult | None = None  # for NOT_SERVED: the probe's request and answer, to reproduce

    def describe(self) -> str:
        """One line for people."""
        where = f"{lane_label(*self.lane)}: " if self.lane else ""
        what = {BreachKind.NOT_SERVED: "not served, and it must be",
                BreachKind.NOT_PROBED: "must be served, and was not probed (the budget was spent)",
                BreachKind.NOT_JUDGED: f"not judged: {', '.join(self.categories)}",
                BreachKind.JOB_LEFT_RUNNING: "JOB LEFT RUNNING: stop it by hand"}[self.kind]
        return where + what + (f" ({self.detail})" if self.detail else "")


@dataclass
class Decision:
    """The verdict, why, and the numbers behind it."""

    verdict: Verdict
    reasons: list[str]  # one line each, most important first
    failures: list[tuple[CaseResult, str, Failed]] = field(default_factory=list)  # error-severity check failures
    warnings: list[tuple[CaseResult, str, Failed]] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    judged: dict[LaneKey, set[str]] = field(default_factory=dict)  # categories judged, per lane
    baseline: BaselineJudgement | None = None  # how the failures stand against --baseline, when one was given

    def accepts(self, result: CaseResult, check_id: str) -> bool:
        """Whether this failure matched an entry of the baseline (False without one)."""
        return self.baseline is not None and failure_entry(result, check_id) in self.baseline.accepted_set

    @property
    def new_failures(self) -> list[tuple[CaseResult, str, Failed]]:
        """The error-severity failures no baseline entry accepts (all of them without a baseline)."""
        return [failure for failure in self.failures if not self.accepts(failure[0], failure[1])]

    def exit_status(self, accept_incomplete: bool = False) -> int:
        """The process exit status (with `accept_incomplete`, an incomplete run passes)."""
        if self.verdict is Verdict.INCOMPLETE and accept_incomplete:
            return EXIT_STATUS[Verdict.CONFORMS]
        return EXIT_STATUS[self.verdict]


def failure_entry(result: CaseResult, check_id: str) -> Entry:
    """A failure's cause as a baseline names it: nothing in it depends on the seed."""
    answer = result.answer
    return Entry(result.case.operation, result.protocol, check_id, result.case.category,
                 cause_of(answer.status if answer else None, answer.error_type if answer else None))


def tested(run: RunResult) -> set[tuple[str, str, str, str]]:
    """Each (operation, protocol, check, category) the run judged: a check that applied to an answered case."""
    return {key for result in run.results for key in tested_keys(result)}


def tested_keys(result: CaseResult) -> set[tuple[str, str, str, str]]:
    """Each (operation, protocol, check, category) one case judged (a baseline entry it could have reproduced)."""
    if not result.judged or result.not_judged is not None:
        return set()
    return {(result.case.operation, result.protocol, check_id, result.case.category)
            for check_id, verdict in result.verdicts.items() if not isinstance(verdict, NotApplicable)}


def decide(run: RunResult, baseline: Baseline | None = None) -> Decision:
    """The verdict of a run, from its outcomes (and, where given, the baseline of accepted failures)."""
    decision = Decision(Verdict.CONFORMS, [])
    for result in run.results:
        if result.judged:
            decision.judged.setdefault(result.lane, set()).add(result.case.category)
        for check_id, verdict in result.failures().items():
            (decision.warnings if severity(check_id) is Severity.WARNING else decision.failures).append(
                (result, check_id, verdict))
    decision.breaches = _breaches(run, decision.judged)
    if baseline is not None:
        decision.baseline = judge(baseline, (failure_entry(r, check) for r, check, _ in decision.failures), tested(run))
    new = decision.new_failures
    strict_fixed = decision.baseline is not None and decision.baseline.strict and bool(decision.baseline.fixed)
    failing = [b for b in decision.breaches if b.kind in FAILING_BREACHES]
    answered = any(result.answer is not None for result in run.results)
    unanswered = any(result.answer is None and result.judged for result in run.results)
    if run.interrupted:  # whatever was judged is reported, but a cut-short run proves nothing either way
        decision.verdict = Verdict.INTERRUPTED
        stopped = "" if run.jobs_left_running else "; every started job was stopped"
        decision.reasons.append(f"interrupted (Ctrl-C) after {len(run.results)} case(s){stopped}")
        decision.reasons += [b.describe() for b in decision.breaches if b.kind is BreachKind.JOB_LEFT_RUNNING]
        if decision.failures:
            checks = sorted({check for _, check, _ in decision.failures})
            decision.reasons.append(f"before it: {len(decision.failures)} check failure(s): {', '.join(checks)}")
    elif unanswered and not answered:
        decision.verdict = Verdict.UNREACHABLE
        # The shortest of what the silences said: the same cause, named with the shortest URL (it ends the output).
        silence = min((v.message for r in run.results for v in r.failures().values()), key=len, default="")
        # Cases tried, not requests sent: a refused connection sends nothing (the header counts 0 requests).
        decision.reasons.append(f"the target answered none of the {len(run.results)} case(s) tried"
                                + (f" ({silence})" if silence else ""))
    elif new or failing or strict_fixed:
        decision.verdict = Verdict.DOES_NOT_CONFORM
        decision.reasons += [b.describe() for b in failing]
        if new:
            checks = sorted({check for _, check, _ in new})
            beside = "" if decision.baseline is None else \
                f" not in the baseline ({decision.baseline.accepted_failures} accepted failure(s) of the baseline)"
            decision.reasons.append(f"{len(new)} {'new ' if decision.baseline else ''}check failure(s){beside}: "
                                    f"{', '.join(checks)}")
        if strict_fixed and decision.baseline is not None:
            decision.reasons.append(f"{len(decision.baseline.fixed)} baseline entr(ies) fixed, and --baseline-strict: "
                                    "remove them from the baseline (--baseline-prune)")
        if run.stopped is not None:  # what it found fails it; what it did not reach is said
            decision.reasons.append(run.stopped.describe())
    elif decision.breaches or run.stopped is not None:
        # A run a limit cut short proves no conformance: what it did not send was not judged (the coverage contract).
        decision.verdict = Verdict.INCOMPLETE
        decision.reasons += ([run.stopped.describe()] if run.stopped is not None else []) \
            + [b.describe() for b in decision.breaches]
    if decision.baseline is not None and decision.verdict in (Verdict.CONFORMS, Verdict.INCOMPLETE):
        decision.reasons.append(_baseline_reason(decision.baseline))
    return decision


def _baseline_reason(judgement: BaselineJudgement) -> str:
    """One line: what the baseline accepted, what it holds that is fixed, and what the run did not test."""
    fixed = f"; {len(judgement.fixed)} entr(ies) fixed: remove them from the baseline" if judgement.fixed else ""
    untested = f"; {len(judgement.not_tested)} entr(ies) not tested" if judgement.not_tested else ""
    return f"{judgement.accepted_failures} accepted failure(s) of the baseline{fixed}{untested}"


def _breaches(run: RunResult, judged: dict[LaneKey, set[str]]) -> list[Breach]:
    breaches: list[Breach] = []
    probes = {(r.case.operation, r.protocol): r for r in run.results if r.case.category == PROBE.name}
    chosen: dict[LaneKey, set[str]] = {}
    for skip in run.skips:
        if skip.reason in CHOSEN_SKIPS and skip.lane is not None:
            chosen.setdefault(skip.lane, set()).update(skip.categories)
        elif skip.reason in CHOSEN_SKIPS:  # the whole run: e.g. no credentials to sign with
            for lane in run.lanes:
                chosen.setdefault(lane.key, set()).update(skip.categories)
    for lane in run.lanes:
        state = run.states.get(lane.key)
        if lane.key in run.required and state is LaneState.NOT_SERVED:
            answer = probes[lane.key].answer if lane.key in probes else None
            said = clipped(f"the probe was answered {answer.status} {answer.error_type or ''}".strip(), 80) \
                if answer else ""
            breaches.append(Breach(BreachKind.NOT_SERVED, lane.key, detail=said, probe=probes.get(lane.key)))
        elif lane.key in run.required and state is LaneState.NOT_PROBED:
            breaches.append(Breach(BreachKind.NOT_PROBED, lane.key))
        if state is not LaneState.SERVED:
            continue
        skipped = chosen.get(lane.key, set())
        missing = sorted(run.promised.get(lane.key, set()) - skipped - judged.get(lane.key, set()))
        if missing:
            breaches.append(Breach(BreachKind.NOT_JUDGED, lane.key, tuple(missing)))
    breaches += [Breach(BreachKind.JOB_LEFT_RUNNING, detail=f"{service} job {clipped(job_id, 64)}")
                 for service, job_id in run.jobs_left_running]
    return breaches

