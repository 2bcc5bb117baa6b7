"""The form of real job ids (PROTOCOL_NOTES §1), and the JobIds next to a real one that must name no job."""

from __future__ import annotations

import re

# Upper case too: whether the service folds case is unknown, and refusing costs nothing.
REAL_JOB_ID = re.compile(r"[0-9a-fA-F]{32}")


def could_be_real_job_id(value: object) -> bool:
    """True for a string of the form real job ids have."""
    return isinstance(value, str) and REAL_JOB_ID.fullmatch(value) is not None


def near_misses(job_id: str) -> tuple[tuple[str, str], ...]:
    """(label, id) of the JobIds next to a real job's that the job flow sends: each must name no job.

    A lookup that folds case, trims white space or matches a prefix would find the real job
    through one of them. The safety guard lets exactly these through, for the run's own jobs.
    """
    last = job_id[-1:]
    other = "z" if last != "z" else "y"  # a letter that is not a hex digit
    found = [("upper_case", job_id.upper()), ("one_replaced", job_id[:-1] + other),
             ("trailing_space", job_id + " "), ("trailing_newline", job_id + "\n"),
             ("leading_space", " " + job_id), ("prefix", job_id[:-1]), ("suffix_added", job_id + "0")]
    return tuple((label, value) for label, value in found if value != job_id and value)
