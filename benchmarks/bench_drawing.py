"""How long planning a run takes: drawing every case of every lane before the first request is sent.

Times `engine.plan.plan` (what `conformance run` and `--dry-run` do before sending) for the default run
(the mission's lanes, --max-examples 100) and for --max-examples 6400, each from cold (strategies not
yet built, nothing drawn); prints cases per second and the cost per generated case, the time the lazy
API (`engine.plan.draw_interleaved`) takes to give its first case, and the ratio to drawing the same
number of cases through Hypothesis's test engine (`@given`, as the suite drew before `generation.drawer.Drawer`;
its strategies are today's, built once). Prints only; asserts nothing.

    python benchmarks/bench_drawing.py [--max-examples 6400] [--engine-examples 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import time

from conformance.engine.config import RunConfig
from conformance.engine.lanes import lanes_for, select_operations
from conformance.engine.plan import draw_interleaved, plan
from conformance.generation import drawer, strategies
from conformance.generation.cache import clear_caches
from conformance.model.operations import load_operations
from conformance.targets.target import Target


def cold() -> None:
    """Forget every built strategy and every drawn case."""
    clear_caches()


def time_plan(max_examples: int, seed: int) -> tuple[float, int, int]:
    """Seconds to plan from cold, cases planned, of which generated."""
    config = RunConfig(Target("http://127.0.0.1:1"), max_examples=max_examples, seed=seed)
    operations = load_operations()
    lanes = lanes_for(config, select_operations(config))
    catalog = sum(len(cases) for cases in plan(RunConfig(config.target, max_examples=0), lanes, operations).values())
    cold()
    began = time.perf_counter()
    planned = plan(config, lanes, operations)
    took = time.perf_counter() - began
    total = sum(len(cases) for cases in planned.values())
    return took, total, total - catalog


def time_first_case(max_examples: int, seed: int) -> float:
    """Seconds from cold until the lazy API gives the run's first case."""
    config = RunConfig(Target("http://127.0.0.1:1"), max_examples=max_examples, seed=seed)
    operations = load_operations()
    lanes = lanes_for(config, select_operations(config))
    cold()
    began = time.perf_counter()
    next(draw_interleaved(config, lanes, operations))
    return time.perf_counter() - began


def time_drawing(count: int, seed: int, engine: bool) -> tuple[float, int]:
    """Seconds to draw `count` cases of each default lane (strategies already built), and cases drawn."""
    config = RunConfig(Target("http://127.0.0.1:1"))
    operations = load_operations()
    lanes = lanes_for(config, select_operations(config))
    built = [strategies.any_case(lane.operation, lane.protocol, operations) for lane in lanes]
    draw = drawer.draw_cases_with_engine if engine else drawer.draw_cases
    began = time.perf_counter()
    drawn = sum(len(draw(strategy, count, seed + index)) for index, strategy in enumerate(built))
    return time.perf_counter() - began, drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=6400, help="the large run's --max-examples")
    parser.add_argument("--engine-examples", type=int, default=100,
                        help="cases per lane drawn through Hypothesis's engine for the ratio (0: skip)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print("planning (drawing every case of the mission's lanes, from cold):")
    for max_examples in (100, args.max_examples):
        took, total, generated = time_plan(max_examples, args.seed)
        print(f"  --max-examples {max_examples:>6}: {took:7.2f} s for {total} cases ({generated} generated): "
              f"{total / took:8.0f} cases/s, {took / max(generated, 1) * 1e3:.3f} ms per generated case")
    print(f"lazy API, first case of --max-examples {args.max_examples} from cold: "
          f"{time_first_case(args.max_examples, args.seed) * 1e3:.1f} ms")
    if args.engine_examples > 0:
        fast, drawn = time_drawing(args.engine_examples, args.seed, engine=False)
        slow, drawn_engine = time_drawing(args.engine_examples, args.seed, engine=True)
        print(f"drawing {args.engine_examples} cases per lane, strategies built: Drawer {fast:.2f} s "
              f"({fast / drawn * 1e3:.3f} ms per case), Hypothesis's engine {slow:.2f} s "
              f"({slow / drawn_engine * 1e3:.3f} ms per case): {slow / fast:.1f}x faster")


if __name__ == "__main__":
    main()
