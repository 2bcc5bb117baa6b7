"""The reference server: Comprehend PII and Comprehend Medical PHI jobs, answered as AWS documents them.

It imports the operation model and nothing from the suite's runner.
"""

from conformance.reference.app import ReferenceApp
from conformance.reference.jobs import JobStore, ManualClock, SystemClock, Timings
from conformance.reference.server import ReferenceServer

__all__ = ["JobStore", "ManualClock", "ReferenceApp", "ReferenceServer", "SystemClock", "Timings"]
