"""The request budget: a run's cap on requests (`Budget`), and how what is left of it after probing is shared
(`allocate`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from conformance.cases import LaneKey
from conformance.engine.lanes import Lane


class BudgetExhausted(Exception):
    """The run's request budget is spent; the request was not sent."""


class Budget:
    """At most `limit` requests in a run (None: no limit); thread-safe."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.spent = 0
        self._lock = threading.Lock()

    def spend(self, essential: bool = False) -> None:
        """Count one request, or raise BudgetExhausted; an essential one (stopping a started job) always goes."""
        with self._lock:
            if self.limit is not None and self.spent >= self.limit and not essential:
                raise BudgetExhausted(f"the budget of {self.limit} requests is spent")
            self.spent += 1

    @property
    def remaining(self) -> int | None:
        """Requests left (None: no limit)."""
        with self._lock:
            return None if self.limit is None else max(self.limit - self.spent, 0)


@dataclass(frozen=True)
class Allocation:
    """How what is left of a budget after probing is shared: job flows, authentication cases, each lane's cases."""

    flows: bool
    auth: bool
    cases_per_lane: dict[LaneKey, int | None]  # None: every planned case
    near_misses: int | None = None  # drawn near misses per job flow (None: as many as the run asks for)
    machine_steps: int | None = None  # the state machine's requests (None: as many as the run asks for)
    machine_shrink: int | None = None  # requests for shrinking a failing state-machine run (None: its own bound)


# The most of what is left after the job flows and authentication cases that drawn near misses may take: the rest
# goes to the lanes' cases, which cover categories nothing else does.
NEAR_MISS_SHARE = 0.25
# The most the state machine (its steps, and as many again to shrink a failing run) may take of what is left after
# the near misses and the first case of every category of every lane: the rest goes to the lanes' cases.
MACHINE_SHARE = 0.25


def allocate(left: int | None, lanes: list[Lane], flow_requests: int, auth_requests: int,
             near_miss_requests: int = 0, near_misses: int = 0, machine_steps: int = 0,
             first_pass: int = 0) -> Allocation:
    """Share `left` requests (None: no budget) among the lanes the endpoint serves, in order of worth: job flows
    (`flow_requests` counted from their plan, without drawn near misses), authentication cases, up to
    `near_misses` drawn near misses per flow (each costing `near_miss_requests` over all flows) within
    NEAR_MISS_SHARE, then up to `machine_steps` state-machine steps (and as many again for shrinking) within
    MACHINE_SHARE, of what is left beyond the lanes' `first_pass` (a case of every category of every lane, which a
    lane's share always comes to first), then each lane's cases."""
    if left is None:
        return Allocation(flow_requests > 0, auth_requests > 0, {lane.key: None for lane in lanes})
    use_flows = flow_requests > 0 and left >= flow_requests
    left -= flow_requests if use_flows else 0
    use_auth = auth_requests > 0 and left >= auth_requests
    left -= auth_requests if use_auth else 0
    drawn = min(near_misses, int(max(left - first_pass, 0) * NEAR_MISS_SHARE) // near_miss_requests) \
        if use_flows and near_miss_requests > 0 else 0
    left -= drawn * near_miss_requests
    steps = min(machine_steps, int(max(left - first_pass, 0) * MACHINE_SHARE) // 2)
    left -= 2 * steps
    share, extra = divmod(left, max(len(lanes), 1))
    return Allocation(use_flows, use_auth,
                      {lane.key: share + (1 if index < extra else 0) for index, lane in enumerate(lanes)}, drawn,
                      steps, steps)
