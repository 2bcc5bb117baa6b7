"""A lane: one operation over one protocol, the unit in which cases are planned, sent, judged and reported."""

from __future__ import annotations

LaneKey = tuple[str, str]  # (operation name, protocol name)


def lane_label(operation: str, protocol: str) -> str:
    """How reports name a lane."""
    return f"{operation} over {protocol}"
