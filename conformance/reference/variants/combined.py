"""Combined variants: a fault behind a legal variation."""

from __future__ import annotations

from collections.abc import Callable

from conformance.reference.variants import legal  # noqa: F401 - registers the variants combined here
from conformance.reference.variants.core import VARIANTS, Family, VariantApp, variant
from conformance.reference.variants.validation import VALIDATION_CATCH


def _combined(*names: str) -> Callable[[VariantApp], None]:
    """The configure functions of registered variants, applied in order.

    Only configure functions combine: a part with its own job store, timings or framing is refused.
    """
    parts = [VARIANTS[name] for name in names]
    for part in parts:
        if not part.only_hooks or part.configure is None:
            raise ValueError(f"variant {part.name!r} is more than a configure function: it cannot be combined")

    def configure(app: VariantApp) -> None:
        for part in parts:
            assert part.configure is not None
            part.configure(app)
    return configure


# A fault behind a legal variation: a check that reads any 404 as "not found, so validated" misses it.
variant("not_found_404_max_length_33", Family.VALIDATION,
        "not_found_404 (legal: unknown jobs answer 404) with max_length_33 (accepts a JobId of 33 characters)",
        VALIDATION_CATCH)(_combined("not_found_404", "max_length_33"))
