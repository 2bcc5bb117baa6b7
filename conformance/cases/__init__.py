"""Cases and their vocabulary: a `Case` (one request, labelled with what it tests), its `Kind`, how it is signed,
every category declared once (`categories`), and the lane (operation over protocol) a case goes over (`lanes`)."""

from conformance.cases.case import ABSENT, FLOW_KINDS, Case, Kind, Signing, from_jsonable, jsonable
from conformance.cases.categories import CATEGORIES, Category, category, kind_of
from conformance.cases.lanes import LaneKey, lane_label

__all__ = ["ABSENT", "CATEGORIES", "FLOW_KINDS", "Case", "Category", "Kind", "LaneKey", "Signing", "category",
           "from_jsonable", "jsonable", "kind_of", "lane_label"]
