"""Per fault: how many requests the suite sent before it first failed a check, and the totals.

Runs the default budget with one worker, so that results come in the order they were sent, and
says whether the example catalog's first pass (one example per category) caught the fault.

    python benchmarks/bench_verdicts.py [--max-examples 100]
"""

from __future__ import annotations

import argparse
import logging
import time

from conformance.cases import FLOW_KINDS, Kind
from conformance.cases.categories import PROBE
from conformance.engine.config import LifecycleConfig, RunConfig
from conformance.engine.runner import run
from conformance.engine.verdict import BreachKind, decide
from conformance.generation.catalog import cases_for, load_entries
from conformance.judging.checks import SERVED, severity
from conformance.model.operations import load_operations
from conformance.protocols import SUPPORTED, get_protocol
from conformance.reference import ReferenceServer, Timings
from conformance.reference.variants import VARIANTS, build_app
from conformance.targets.target import Target

FAST_JOBS = Timings(queued=0.05, running=600.0, stopping=0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # faulty variants log their own crashes; the table is the output
    operations = load_operations()
    # The first pass of a lane: as many catalog cases as the lane's protocol has categories.
    first_pass = {name: len({case.category for case in cases_for(operations[0], name, operations, load_entries(),
                                                                   get_protocol(name).inexpressible)})
                  for name in SUPPORTED}
    print(f"{'fault':36} {'family':13} {'requests to first failure':>26}  caught by")
    totals = {"faults": 0, "caught": 0, "requests": 0, "in_first_pass": 0}
    began = time.perf_counter()
    for name, variant in sorted(VARIANTS.items(), key=lambda item: (item[1].family, item[0])):
        if variant.legal:
            continue
        with ReferenceServer(app=build_app(name, timings=FAST_JOBS), http_options=variant.http) as server:
            result = run(RunConfig(Target(server.url), max_examples=args.max_examples, seed=1, workers=1,
                                   lifecycle=LifecycleConfig(settle_timeout=2.0, poll_interval=0.05)))
        sent = 0
        caught = None
        position_in_lane: dict[tuple[str, str], int] = {}
        for outcome in sorted(result.results, key=lambda r: r.sent_at):  # as the requests went out
            sent += outcome.attempts
            lane = (outcome.case.operation, outcome.protocol)
            if outcome.case.kind not in FLOW_KINDS | {Kind.AUTH} and outcome.case.category != PROBE.name:
                # a case of the catalog or a generated one
                position_in_lane[lane] = position_in_lane.get(lane, -1) + 1
            failing = sorted(check for check in outcome.failures() if severity(check) == "error")
            if failing:
                caught = (sent, failing, outcome.case.category, position_in_lane.get(lane, 0), outcome.protocol)
                break
        totals["faults"] += 1
        served = [b for b in decide(result).breaches if b.kind is BreachKind.NOT_SERVED]
        if caught is None and served:  # the coverage contract, once the probes are in
            caught = (len(result.lanes), [SERVED], "valid.probe", 0, served[0].lane[1] if served[0].lane else "")
        if caught is None:
            print(f"{name:36} {variant.family:13} {'NOT CAUGHT':>26}")
            continue
        requests, checks, category, position, protocol = caught
        lifecycle = category.startswith(("existing.", "start.", "near_miss."))
        where = ("job lifecycle" if lifecycle else "state machine" if category.startswith("machine.")
                 else "protocol probe" if category == "valid.probe"
                 else "authentication" if category.startswith("auth.")
                 else "first catalog pass" if position < first_pass[protocol] else "later")
        totals["caught"] += 1
        totals["requests"] += requests
        totals["in_first_pass"] += where != "later"
        print(f"{name:36} {variant.family:13} {requests:>26}  {', '.join(checks)} on {category} ({where})")
    print(f"\n{totals['caught']}/{totals['faults']} faults caught (mutation score "
          f"{100 * totals['caught'] / max(totals['faults'], 1):.0f}%); {totals['requests']} requests to first failure "
          f"in all, {totals['requests'] / max(totals['caught'], 1):.1f} on average; "
          f"{totals['in_first_pass']} caught in the first catalog pass, the job lifecycle or the state machine; "
          f"{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
