"""Lifecycle faults: a job's life told wrongly, and job lookups that find a job by another id."""

from __future__ import annotations

import threading
import unicodedata
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

from conformance.reference.job_store import (
    STOP_REQUESTED,
    Job,
    JobNotFound,
    JobNotStoppable,
    JobStore,
    Timings,
)
from conformance.reference.variants.core import (
    Family,
    ReadStep,
    Variant,
    VariantApp,
    register,
    variant,
)
from conformance.reference.variants.editing import is_stop, on_success
from conformance.wire.http import HttpRequest

QUICK_JOBS = Timings(queued=0.0, running=0.0, stopping=0.0)  # jobs are COMPLETED as soon as started


class _StopsEndedJobs(JobStore):
    """Stop marks any job STOP_REQUESTED, even one that has already ended."""

    def stop(self, service: str, job_id: str) -> str:
        try:
            return super().stop(service, job_id)
        except JobNotStoppable:
            return STOP_REQUESTED


class _UuidJobIds(JobStore):
    """Job ids are 36-character UUIDs (as moto makes them): longer than a JobId may be."""

    def new_job_id(self) -> str:
        """A UUID."""
        return str(uuid.uuid4())


class _LooseLookup(JobStore):
    """Finds a job by an id that is not its own, when it is `near` exactly one job's id (Stop and Describe alike)."""

    @staticmethod
    def near(sent: str, real: str) -> bool:
        """Whether the lookup takes `sent` for the job id `real`."""
        raise NotImplementedError

    def lookup(self, kind: str, job_id: str) -> Job:
        """Its own job, else the one job whose id the JobId is `near`."""
        try:
            return super().lookup(kind, job_id)
        except JobNotFound:
            found = [job for job in self.every_job() if job.kind == kind and self.near(job_id, job.job_id)]
            if len(found) != 1:
                raise
            return found[0]


class _CaseBlindLookup(_LooseLookup):
    """A JobId names the job whatever the case of its letters (a case-insensitive index)."""

    @staticmethod
    def near(sent: str, real: str) -> bool:
        """Equal once case is folded."""
        return sent.casefold() == real.casefold()


class _PrefixLookup(_LooseLookup):
    """A JobId of 8 characters or more names the one job whose id begins with it (as git does with hashes)."""

    @staticmethod
    def near(sent: str, real: str) -> bool:
        """`sent` begins `real` and is long enough to look deliberate."""
        return len(sent) >= 8 and real.startswith(sent)


_LOOKUP_CATCH = frozenset({"status_code", "job_status_allowed"})

register(Variant("stop_ended_job_succeeds", Family.LIFECYCLE, "stopping a COMPLETED job answers 200 STOP_REQUESTED",
                 frozenset({"status_code"}), timings=QUICK_JOBS, store=_StopsEndedJobs))
# The stop never takes effect.
register(Variant("stop_never_settles", Family.LIFECYCLE, "a stopped job stays STOP_REQUESTED for ever",
                 frozenset({"job_status_allowed"}),
                 timings=Timings(queued=0.0, running=float("inf"), stopping=float("inf"))))
register(Variant("start_job_id_too_long", Family.LIFECYCLE, "Start answers a 36-character JobId",
                 frozenset({"response_schema"}), store=_UuidJobIds))


@variant("second_stop_reports_in_progress", Family.LIFECYCLE, "stopping a job again answers JobStatus IN_PROGRESS",
         ("job_status_allowed",))
def _second_stop_reports_in_progress(app: VariantApp) -> None:
    seen: set[str] = set()
    lock = threading.Lock()

    def change(request: HttpRequest, document: dict[str, Any]) -> dict[str, Any]:
        job_id = document.get("JobId")
        if not is_stop(request) or "JobStatus" not in document:
            return document
        with lock:
            again = job_id in seen
            seen.add(job_id)
        return {**document, "JobStatus": "IN_PROGRESS"} if again else document
    app.answer_filters.append(on_success(change))


register(Variant("job_lookup_ignores_case", Family.LIFECYCLE, "a JobId names the job whatever the case of its letters",
                 _LOOKUP_CATCH, store=_CaseBlindLookup))


@variant("job_lookup_trims", Family.LIFECYCLE, "a JobId with leading or trailing white space names the job",
         tuple(_LOOKUP_CATCH))
def _job_lookup_trims(app: VariantApp) -> None:
    # Trimmed as the request is read, as a framework that trims string input does, so before the
    # length check: a store that trimmed would never see a real id with a space added (33 characters).
    def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
        document = default(request)
        job_id = document.get("JobId")
        return {**document, "JobId": job_id.strip()} if isinstance(job_id, str) else document
    app.read_hook = read


register(Variant("job_lookup_prefix", Family.LIFECYCLE,
                 "a JobId of 8 or more characters names the one job whose id it begins", _LOOKUP_CATCH,
                 store=_PrefixLookup))


# Job lookups that see through a transformation of the id: each finds the job by a string that is not its id.
# Written for the catalog, apart from the suite's near-miss families: what real lookups are known to do.

def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _ascii_folded(text: str) -> str:
    """As search indexes fold text: decomposed, then every non-ASCII character dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _visible(text: str) -> str:
    """Without white space, control and format characters, or variation selectors."""
    return "".join(char for char in text if not (char.isspace() or unicodedata.category(char) in ("Cc", "Cf")
                                                 or 0xFE00 <= ord(char) <= 0xFE0F))


def _lookup_through(see: Callable[[str], str]) -> type[JobStore]:
    class Through(_LooseLookup):
        @staticmethod
        def near(sent: str, real: str) -> bool:
            return see(sent) == real
    return Through


class _KindBlindLookup(JobStore):
    """A JobId names a job of any kind, of any service: one index for every job."""

    def lookup(self, kind: str, job_id: str) -> Job:
        """Its own kind's job, else any job with that id."""
        try:
            return super().lookup(kind, job_id)
        except JobNotFound:
            found = [job for job in self.every_job() if job.job_id == job_id]
            if not found:
                raise
            return found[0]


for _name, _text, _store in (
    ("job_lookup_nfkc", "a JobId names the job once NFKC-normalized (fullwidth and other compatibility characters "
     "read as plain ones)", _lookup_through(_nfkc)),
    ("job_lookup_ascii_folding", "a JobId names the job once folded to ASCII (decomposed, non-ASCII dropped)",
     _lookup_through(_ascii_folded)),
    ("job_lookup_kind_blind", "a JobId names a job of any kind and any service (one index for every job)",
     _KindBlindLookup),
):
    register(Variant(_name, Family.LIFECYCLE, _text, _LOOKUP_CATCH, store=_store))


def _read_job_id_as(change: Callable[[str], str]) -> Callable[[VariantApp], None]:
    """A framework that changes the JobId as it reads the request, before validation: it then names the job."""
    def configure(app: VariantApp) -> None:
        def read(request: HttpRequest, default: ReadStep) -> dict[str, Any]:
            document = default(request)
            job_id = document.get("JobId")
            return {**document, "JobId": change(job_id)} if isinstance(job_id, str) else document
        app.read_hook = read
    return configure


for _name, _text, _change in (
    ("job_id_percent_decoded", "reads the JobId percent-decoded, as a framework that unquotes parameters does",
     urllib.parse.unquote),
    ("job_id_invisible_dropped", "reads the JobId without its white space and invisible characters, wherever they "
     "stand", _visible),
    ("job_id_unescaped_again", "reads the JobId with the `\\u` and `\\x` escapes in its text decoded again",
     lambda text: text.encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")),
):
    variant(_name, Family.LIFECYCLE, _text, tuple(_LOOKUP_CATCH))(_read_job_id_as(_change))
