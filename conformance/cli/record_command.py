"""`conformance record`: the deterministic part of a run against a target, every exchange written to a file."""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys

from conformance.cli.errors import EXIT_OK, error
from conformance.cli.run_command import _choice, _dry_run, _run, _unwritable
from conformance.engine.config import LifecycleConfig, MachineConfig, RunConfig
from conformance.model.operations import SchemaDocumentError
from conformance.report import recording
from conformance.targets.moto import MotoUnavailable
from conformance.targets.resolve import open_target
from conformance.targets.target import TargetError


def record_command(args: argparse.Namespace) -> int:
    """Run the catalog, the job flows and the seed's cases with the run engine, then write the recording."""
    problem = _unwritable(args.out)
    if problem:  # found before anything is sent
        return error(f"cannot write --out {args.out}: {problem}")
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    with contextlib.ExitStack() as stack:
        try:
            target = open_target(_choice(args, region), stack)
        except (TargetError, SchemaDocumentError, MotoUnavailable) as exc:
            return error(str(exc))
        # The run engine as `conformance run` drives it: every safety rule of a run holds (budget, dry run, the
        # job-id guard, jobs on AWS only with --create-jobs).
        config = RunConfig(target=target, operations=tuple(args.operation), all_operations=args.all_operations,
                           schema_dir=args.schemas, max_examples=args.max_examples, seed=seed, workers=args.workers,
                           rate=args.rate, create_jobs=not args.no_create_jobs, protocol=args.protocol,
                           budget=args.budget, read_timeout=args.read_timeout,
                           lifecycle=LifecycleConfig(settle_timeout=args.settle_timeout),
                           near_misses=args.near_misses, shrink_requests=args.shrink_requests,
                           machine=MachineConfig(steps=args.state_machine_steps))
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
