"""The wall time of `run --recording` beside the same run without it (figures only; nothing is asserted).

    PYTHONPATH=. python benchmarks/bench_recording.py [--max-examples N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from conformance.engine.config import LifecycleConfig, MachineConfig, RunConfig
from conformance.engine.runner import run
from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings
from conformance.report import recording, summarise
from conformance.targets.target import Target

FAST = Timings(queued=0.05, running=600.0, stopping=0.2)


def main() -> None:
    """Record the reference server once, then time the same replay with and without the comparison, alternating."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with ReferenceServer(app=ReferenceApp(JobStore(SystemClock(), FAST))) as server, \
            tempfile.TemporaryDirectory() as folder:
        def config(**more: object) -> RunConfig:
            return RunConfig(Target(server.url), max_examples=args.max_examples, seed=11, near_misses=0,
                             shrink_requests=0, machine=MachineConfig(steps=0),
                             lifecycle=LifecycleConfig(settle_timeout=2.0, poll_interval=0.05), **more)
        path = Path(folder) / "recording.json"
        recording.write(run(config()), path, "us-east-1")
        loaded = recording.load(path)
        for round_number in range(args.rounds):
            began = time.perf_counter()
            plain = summarise(run(config(rerun=loaded.rerun())))
            without = time.perf_counter() - began
            began = time.perf_counter()
            replayed = run(config(rerun=loaded.rerun()))
            compared = recording.judge(replayed, loaded)
            summarise(replayed)
            with_recording = time.perf_counter() - began
            print(f"round {round_number + 1}: the same cases without the recording {without:.2f} s "
                  f"({plain.run.requests_sent} requests); with run --recording {with_recording:.2f} s "
                  f"({compared.matched} answers compared)")


if __name__ == "__main__":
    main()
