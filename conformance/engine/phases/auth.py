"""Authentication: an unsigned request, then the signing matrix, for each served lane.

The matrix is a request signed wrongly in each way a verifying server must refuse (`Signing`): a wrong
signature, a date an hour, or 20 minutes, behind or ahead, a credential scope naming another region,
service, day or terminator, an unknown access key, a signed header or the body changed after signing,
an Authorization header without its signature or naming another algorithm.

The unsigned request is always judged: an endpoint that does not enforce SigV4 must still answer it
as the operation it names (or refuse it). The wrongly signed ones are judged only where the
unsigned one was refused: an endpoint that serves unsigned requests has nothing to refuse them for.
"""

from __future__ import annotations

from conformance.cases import Case, Category, LaneKey, Signing, categories
from conformance.engine.budget import BudgetExhausted
from conformance.engine.execute import execute
from conformance.engine.lanes import Lane
from conformance.engine.phases import PhaseOutcome, RunContext
from conformance.engine.plan import PlannedRequest
from conformance.engine.results import CaseResult, Skip, SkipReason
from conformance.judging.oracle import AUTH_ERROR_TYPES
from conformance.wire.http import clipped

SIGNINGS = (
    (categories.AUTH_UNSIGNED, Signing.UNSIGNED),
    (categories.AUTH_BAD_SIGNATURE, Signing.BAD_SIGNATURE),
    (categories.AUTH_EXPIRED_DATE, Signing.EXPIRED_DATE),
    (categories.AUTH_DATE_BEHIND, Signing.DATE_BEHIND),
    (categories.AUTH_DATE_AHEAD, Signing.DATE_AHEAD),
    (categories.AUTH_SCOPE_REGION, Signing.OTHER_REGION),
    (categories.AUTH_SCOPE_SERVICE, Signing.OTHER_SERVICE),
    (categories.AUTH_SCOPE_DATE, Signing.OTHER_SCOPE_DATE),
    (categories.AUTH_SCOPE_TERMINATOR, Signing.OTHER_TERMINATOR),
    (categories.AUTH_UNKNOWN_KEY, Signing.UNKNOWN_KEY),
    (categories.AUTH_SIGNED_HEADER_CHANGED, Signing.SIGNED_HEADER_CHANGED),
    (categories.AUTH_BODY_CHANGED, Signing.BODY_CHANGED),
    (categories.AUTH_INCOMPLETE_AUTHORIZATION, Signing.INCOMPLETE_AUTHORIZATION),
    (categories.AUTH_UNSUPPORTED_ALGORITHM, Signing.OTHER_ALGORITHM),
)
# AWS itself always enforces SigV4: there, an unsigned request must be refused.
UNSIGNED_ON_AWS = (categories.AUTH_UNSIGNED_REFUSED, Signing.UNSIGNED)
ONLY_IF_REFUSED = "only if the unsigned request is refused"


def auth_case(lane: Lane, category: Category, signing: Signing) -> Case:
    """A valid request for no job, sent unsigned or wrongly signed."""
    return Case(lane.operation.name, category.name, category.kind, category.description,
                document={"JobId": "conformance-auth"}, job_id="conformance-auth", signing=signing)


def is_auth_refusal(result: CaseResult) -> bool:
    """Whether the endpoint refused a request as unauthenticated."""
    answer = result.answer
    return answer is not None and 400 <= answer.status < 500 and answer.error_type in AUTH_ERROR_TYPES


class AuthPhase:
    """The authentication cases of each served lane, where the target signs its requests."""

    name = "authentication"

    def _signs(self, ctx: RunContext) -> bool:
        return ctx.config.auth_checks and ctx.target.credentials is not None

    def _signings(self, ctx: RunContext) -> tuple[tuple[Category, Signing], ...]:
        return ((UNSIGNED_ON_AWS,) if ctx.target.is_aws else SIGNINGS[:1]) + SIGNINGS[1:]

    def plan(self, ctx: RunContext) -> list[PlannedRequest]:
        """The unsigned request of each lane, then the signing matrix, only if the first is refused."""
        if not self._signs(ctx) or (ctx.allocation is not None and not ctx.allocation.auth):
            return []
        return [PlannedRequest(lane, auth_case(lane, *signing), "" if index == 0 else ONLY_IF_REFUSED)
                for lane in ctx.live for index, signing in enumerate(self._signings(ctx))]

    def promises(self, ctx: RunContext) -> dict[LaneKey, set[str]]:
        """Every authentication category of every lane, where the target signs."""
        if not self._signs(ctx):
            return {}
        return {lane.key: {category.name for category, _ in self._signings(ctx)} for lane in ctx.lanes}

    def run(self, ctx: RunContext) -> PhaseOutcome:
        """Send each lane's cases in turn."""
        assert ctx.transport is not None
        outcome = PhaseOutcome(self.name)
        signings = self._signings(ctx)
        all_categories = tuple(category.name for category, _ in signings)
        if not self._signs(ctx):
            if ctx.config.auth_checks:
                outcome.skips.append(Skip(SkipReason.NO_CREDENTIALS, None, all_categories))
            return outcome
        if ctx.allocation is not None and not ctx.allocation.auth:
            outcome.skips += [Skip(SkipReason.BUDGET_SPENT, lane.key, all_categories) for lane in ctx.live]
            return outcome
        for index, lane in enumerate(ctx.live):
            try:
                unsigned = execute(lane.operation, auth_case(lane, *signings[0]), lane.protocol, ctx.transport,
                                   ctx.checks)
                outcome.results.append(unsigned)
                # What the target may answer from now on depends on it (`oracle.Circumstances`).
                if is_auth_refusal(unsigned):
                    ctx.transport.refuses_unsigned.add(lane.operation.service.name)
                elif unsigned.answer is not None and not ctx.target.is_aws:
                    ctx.transport.serves_unsigned.add(lane.operation.service.name)
                if unsigned.answer is not None and not is_auth_refusal(unsigned) and not ctx.target.is_aws:
                    said = clipped(f"{unsigned.answer.status} {unsigned.answer.error_type or ''}".strip(), 80)
                    outcome.skips.append(Skip(SkipReason.AUTH_NOT_ENFORCED, lane.key, all_categories[1:],
                                              f"the unsigned request was answered {said}"))
                    continue
                outcome.results += [execute(lane.operation, auth_case(lane, *signing), lane.protocol, ctx.transport,
                                            ctx.checks) for signing in signings[1:]]
            except BudgetExhausted:
                outcome.skips += [Skip(SkipReason.BUDGET_SPENT, rest.key, all_categories) for rest in ctx.live[index:]]
                break
        return outcome
