"""The default run against moto, timed: `conformance run --target moto --seed 1` (figures only, no assertion).

moto's stopped jobs never leave STOP_REQUESTED. Before the local settle default (at 4a81151, every wait 60 s) this run
took 62.7 s of wall time on the shared 2-core machine, 58 s of it waiting; with a local target's 5 s default and the
later waits bounded once one has waited in vain, 9.8 s.

    PYTHONPATH=. python benchmarks/bench_moto.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE_SECONDS = 62.7  # at 4a81151, measured with `time` as above


def timed_run() -> tuple[float, int]:
    """One default run against moto: its wall time in seconds and its exit status."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "conformance", "run", "--target", "moto", "--seed", "1"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False)
    return time.monotonic() - began, done.returncode


def main() -> None:
    """Print each run's wall time beside the figure before."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for index in range(args.repeat):
        seconds, status = timed_run()
        print(f"run {index + 1}: default run against moto {seconds:.1f} s (exit {status}); before: {BEFORE_SECONDS} s")


if __name__ == "__main__":
    main()
