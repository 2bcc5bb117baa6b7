"""`conformance diff`: the same cases to two targets, interleaved, and every difference of their answers; no oracle.

Answers are compared in the one comparable form `run --recording` uses (`judging.answer_forms`), protocol-aware:
the error type sanitised, `message` or `Message` and its wording, framing, dates and request ids left out.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

from conformance.cases import Case
from conformance.cli.errors import EXIT_FAILED, EXIT_OK, error
from conformance.cli.run_command import TARGET_ERRORS, _unwritable, seed_and_region
from conformance.engine.config import ConfigurationError, RunConfig
from conformance.engine.execute import MAX_THROTTLE_RETRIES, is_throttled
from conformance.engine.lanes import Lane
from conformance.engine.plan import prepare
from conformance.engine.safety import UnsafeRequest
from conformance.engine.transport import Transport, Unanswered
from conformance.engine.transport.rate import backoff
from conformance.judging.answer_forms import AnswerForm, answer_form, differences
from conformance.targets.resolve import TargetChoice, open_target
from conformance.targets.target import Target


@dataclass(frozen=True)
class Difference:
    """One case answered differently by the two targets: what differs, each side's answer as a form."""

    lane: str
    case: Case
    found: tuple[str, ...]
    first: str
    second: str

    @property
    def cause(self) -> str:
        """What differs, values aside: the phrases with the lane's own details (pointers kept) as a grouping key."""
        return "; ".join(self.found)


def diff_command(args: argparse.Namespace) -> int:
    """Send every planned case to both targets, case by case; exit 0 when no answer differs, 1 when one does."""
    if args.report_markdown is not None:
        problem = _unwritable(args.report_markdown)
        if problem:
            return error(f"cannot write --report-markdown {args.report_markdown}: {problem}")
    seed, region = seed_and_region(args)
    with contextlib.ExitStack() as stack:
        try:
            first = open_target(_first(args, region), stack)
            second = open_target(TargetChoice(endpoint_url=args.against_endpoint_url, target=(
                None if args.against_target == "reference" else args.against_target), region=region,
                schema_dir=args.schemas, no_create_jobs=True), stack)
        except TARGET_ERRORS as exc:
            return error(str(exc))
        config = RunConfig(target=first, operations=tuple(args.operation), all_operations=args.all_operations,
                           schema_dir=args.schemas, max_examples=args.max_examples, seed=seed, create_jobs=False,
                           protocol=args.protocol, read_timeout=args.read_timeout, drawing_process=False)
        print(f"conformance diff: {', '.join(first.urls())} ({first.name}) against {', '.join(second.urls())} "
              f"({second.name}); seed {seed}", file=sys.stderr)
        try:
            found, compared = compare(config, second)
        except ConfigurationError as exc:
            return error(str(exc))
    write(found, compared, first, second, sys.stdout)
    if args.report_markdown is not None:
        args.report_markdown.write_text(markdown(found, first, second), encoding="utf-8")
    return EXIT_FAILED if found else EXIT_OK


def _first(args: argparse.Namespace, region: str) -> TargetChoice:
    return TargetChoice(endpoint_url=args.endpoint_url, target=args.target, region=region, profile=args.profile,
                        allow_credentials_to_custom_endpoint=args.allow_credentials_to_custom_endpoint,
                        schema_dir=args.schemas, no_create_jobs=True)


def compare(config: RunConfig, second: Target) -> tuple[list[Difference], int]:
    """Each planned case sent to the run's target, then the same case to `second`; the differences, and how many
    cases were compared."""
    prepared = prepare(config)
    transports = [Transport(config.target, read_timeout=config.read_timeout, pool_size=1),
                  Transport(second, read_timeout=config.read_timeout, pool_size=1)]
    found: list[Difference] = []
    compared = 0
    try:
        for lane, _, case in prepared.planned.interleaved(prepared.lanes):  # type: ignore[attr-defined]
            forms = [_answer(lane, case, transport) for transport in transports]
            compared += 1
            if forms[0] == forms[1]:
                continue
            one, other = forms
            said = (differences(one, other) if isinstance(one, AnswerForm) and isinstance(other, AnswerForm)
                    else [f"answer {_said(one)} -> {_said(other)}"])
            found.append(Difference(lane.label, case, tuple(said), _said(one), _said(other)))
    finally:
        prepared.close()
        for transport in transports:
            transport.close()
    return found, compared


def _answer(lane: Lane, case: Case, transport: Transport) -> AnswerForm | str:
    """One side's answer to a case as a form, or why there is none."""
    request = lane.protocol.encode(lane.operation, case)
    for attempt in range(MAX_THROTTLE_RETRIES + 1):
        try:
            response = transport.send(request, lane.operation.service, signing=case.signing)
        except Unanswered:
            return "no answer"
        except UnsafeRequest:
            return "refused by the safety guard"
        answer = lane.protocol.decode(response)
        if not is_throttled(answer) or attempt == MAX_THROTTLE_RETRIES:
            return answer_form(answer)
        time.sleep(backoff(attempt + 1, base=0.2, cap=10.0))
    raise AssertionError("unreachable")


def _said(form: AnswerForm | str) -> str:
    return form.describe() if isinstance(form, AnswerForm) else form


def write(found: list[Difference], compared: int, first: Target, second: Target, stream: object) -> None:
    """The differences grouped by case category, then the count."""
    by_category: dict[str, list[Difference]] = defaultdict(list)
    for difference in found:
        by_category[difference.case.category].append(difference)
    for category_name in sorted(by_category):
        print(f"\n{category_name}:", file=stream)  # type: ignore[arg-type]
        for difference in by_category[category_name]:
            print(f"  {difference.lane}: {difference.case.description}\n    {'; '.join(difference.found)}\n"
                  f"    A ({first.name}): {difference.first}\n    B ({second.name}): {difference.second}",
                  file=stream)  # type: ignore[arg-type]
    print(f"\n{len(found)} of {compared} case(s) answered differently by {first.name} and {second.name}"
          if found else f"no difference in {compared} case(s)", file=stream)  # type: ignore[arg-type]


def by_cause(found: list[Difference]) -> dict[str, list[Difference]]:
    """The differences grouped by cause (what differs, values of the case aside), largest group first."""
    groups: dict[str, list[Difference]] = defaultdict(list)
    for difference in found:
        groups[difference.cause].append(difference)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def markdown(found: list[Difference], first: Target, second: Target) -> str:
    """The differences grouped by cause as a Markdown table: cause, cases, categories."""
    lines = [f"| what differs ({first.name} -> {second.name}) | cases | categories |", "|---|---|---|"]
    for cause, group in by_cause(found).items():
        names = sorted({difference.case.category for difference in group})
        shown = ", ".join(f"`{name}`" for name in names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        lines.append(f"| {cause.replace('|', chr(92) + '|')} | {len(group)} | {shown} |")
    return "\n".join(lines) + "\n"
