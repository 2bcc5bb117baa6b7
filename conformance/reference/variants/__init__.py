"""Variants of the reference server: faults the suite must catch, and legal variations it must pass.

Each variant is one small, realistic change to the reference server, switched on by name
(`conformance serve --variant NAME`), declared as a record (`core.Variant`) in the module of its
family. A fault names the checks that must catch it; a legal variation differs from the reference
but conforms, so no check may fail against it. The score of the suite is measured against all of
them (tests/test_verdicts.py, docs/verdicts.md).
"""

from conformance.reference.server import HttpOptions
from conformance.reference.variants import (  # noqa: F401 - each module registers its family's variants
    answers,
    combined,
    error_typing,
    job_states,
    legal,
    lifecycle,
    protocol,
    signing,
    spellings,
    validation,
    warned,
)
from conformance.reference.variants.core import (
    FAMILIES,
    VARIANTS,
    Family,
    UnknownVariant,
    Variant,
    VariantApp,
    build_app,
    register,
    variant,
)

__all__ = ["FAMILIES", "VARIANTS", "Family", "HttpOptions", "UnknownVariant", "Variant", "VariantApp", "build_app",
           "register", "variant"]
