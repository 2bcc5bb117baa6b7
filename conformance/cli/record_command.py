"""`conformance record`: the deterministic part of a run against a target, every exchange written to a file."""

from __future__ import annotations

import argparse
import contextlib
import sys

from conformance.cli.errors import EXIT_OK, error
from conformance.cli.run_command import TARGET_ERRORS, _choice, _dry_run, _run, _unwritable, run_config, seed_and_region
from conformance.report import recording
from conformance.targets.resolve import open_target


def record_command(args: argparse.Namespace) -> int:
    """Run the catalog, the job flows and the seed's cases with the run engine, then write the recording."""
    problem = _unwritable(args.out)
    if problem:  # found before anything is sent
        return error(f"cannot write --out {args.out}: {problem}")
    seed, region = seed_and_region(args)
    with contextlib.ExitStack() as stack:
        try:
            target = open_target(_choice(args, region), stack)
        except TARGET_ERRORS as exc:
            return error(str(exc))
        # The run engine as `conformance run` drives it: every safety rule of a run holds (budget, dry run, the
        # job-id guard, jobs on AWS only with --create-jobs).
        config = run_config(args, target, seed)
        if args.dry_run:
            return _dry_run(config)
        result = _run(config, args.verbose, region)
        if isinstance(result, int):
            return result
    try:
        written = recording.write(result, args.out, region)
    except OSError as exc:
        return error(f"cannot write the recording: {exc.strerror or exc}")
    print(f"conformance record: {written} exchange(s) written to {args.out} (seed {seed})", file=sys.stderr)
    return EXIT_OK
