"""Cases and their vocabulary: a `Case` (one request, labelled with what it tests), its `Kind`, how it is signed,
and every category declared once (`categories`)."""

from conformance.cases.case import ABSENT, FLOW_KINDS, Case, Kind, Signing, from_jsonable, jsonable
from conformance.cases.categories import CATEGORIES, Category, category, kind_of

__all__ = ["ABSENT", "CATEGORIES", "FLOW_KINDS", "Case", "Category", "Kind", "Signing", "category", "from_jsonable",
           "jsonable", "kind_of"]
