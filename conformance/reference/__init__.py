"""The reference server: Comprehend PII and Comprehend Medical PHI jobs, answered as AWS documents them.

It imports the operation model and nothing from the suite's runner.
"""

from pathlib import Path

from conformance.reference.app import ReferenceApp
from conformance.reference.job_store import JobStore, ManualClock, SystemClock, Timings
from conformance.reference.server import ReferenceServer

__all__ = ["EMBEDDED_TIMINGS", "JobStore", "ManualClock", "ReferenceApp", "ReferenceServer", "SystemClock", "Timings",
           "embedded_server"]

# The embedded target's jobs: a stop settles within a fifth of a second, so that a run never idles waiting for it
# (`conformance serve` keeps AWS-like timings).
EMBEDDED_TIMINGS = Timings(queued=0.2, stopping=0.2)


def embedded_server(schema_dir: Path | None = None) -> ReferenceServer:
    """The reference server a run starts for itself on loopback: fast jobs, the run's schema folder."""
    return ReferenceServer(app=ReferenceApp(JobStore(SystemClock(), EMBEDDED_TIMINGS), schema_dir=schema_dir))
