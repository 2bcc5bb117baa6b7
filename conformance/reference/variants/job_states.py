"""Lifecycle faults that only a sequence of steps shows: each answer alone could be right, but no timing of the
documented lifecycle explains them together. The job flows (one job per lane, started before any is stopped, never
described once it has settled and been stopped again) pass each of them; the state machine's opening run, the same
in every seed, catches each (`generation.machine_steps.OPENING`)."""

from __future__ import annotations

from typing import Any

from conformance.reference.job_store import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    STOP_REQUESTED,
    STOPPED,
    SUBMITTED,
    Job,
    JobNotFound,
    JobStore,
)
from conformance.reference.variants.core import Family, Variant, VariantApp, register, variant
from conformance.reference.variants.editing import on_success
from conformance.wire.http import HttpRequest

_RUNNING = (SUBMITTED, IN_PROGRESS)
_SETTLED = (STOPPED, COMPLETED, FAILED)


class _ForgetsStoppedJobs(JobStore):
    """A job of a kind is forgotten once it is stopping or has ended and another job of its kind is started: as a
    store with one slot per kind that a stop frees."""

    def lookup(self, kind: str, job_id: str) -> Job:
        """Its job, unless a job of its kind was started after it was stopped or ended."""
        job = super().lookup(kind, job_id)
        now = self.clock.now()
        freed = job.stop_requested_at if job.stop_requested_at is not None else job.end_time(now)
        if freed is not None and any(other.kind == kind and other.submitted_at > freed for other in self.every_job()):
            raise JobNotFound(job_id)
        return job


class _StopsTheWholeKind(JobStore):
    """A Stop stops every running job of the named job's kind (the stop is keyed by the kind, not the job)."""

    def stop_job(self, job: Job, now: float) -> str:
        """The named job's stop, and every other running job of its kind marked STOP_REQUESTED too."""
        status = super().stop_job(job, now)
        for other in self.every_job():
            if other is not job and other.kind == job.kind and other.status(now) in _RUNNING:
                self.mark_stop_requested(other, now)
        return status


class _RestopsStoppedJobs(JobStore):
    """A Stop of a STOPPED job answers STOPPED, and requests its stop again: it is STOP_REQUESTED once more."""

    def stop_job(self, job: Job, now: float) -> str:
        """As the reference answers; a stopped job's stop requested again."""
        status = super().stop_job(job, now)
        if status == STOPPED:
            self.mark_stop_requested(job, now)
        return status


class _ArchiveOfEndedJobs(JobStore):
    """Ended jobs move to one archive of every kind's and service's jobs, keyed by id alone, which lookups fall back
    to: another kind's Stop and Describe find a job once it has ended."""

    def lookup(self, kind: str, job_id: str) -> Job:
        """Its own kind's job, else an ended job of any kind with that id."""
        try:
            return super().lookup(kind, job_id)
        except JobNotFound:
            now = self.clock.now()
            archived = [job for job in self.every_job() if job.job_id == job_id and job.status(now) in _SETTLED]
            if not archived:
                raise
            return archived[0]


_FOUND = frozenset({"lifecycle_model", "status_code"})
_STATUS = frozenset({"lifecycle_model", "job_status_allowed"})

# When the state machine starts a job of its kind while a job flow's job is stopped, the flow's second Stop finds its
# own job forgotten: JobNotFoundException where the oracle allows success or InvalidRequestException (error_type).
register(Variant("start_forgets_stopped_jobs", Family.LIFECYCLE,
                 "a job that is stopping or has ended is forgotten (not found) once another job of its kind starts",
                 _FOUND | {"error_type"}, store=_ForgetsStoppedJobs))
register(Variant("stop_stops_whole_kind", Family.LIFECYCLE,
                 "a Stop stops every running job of the named job's kind", _STATUS, store=_StopsTheWholeKind))
register(Variant("restop_reverts_to_stop_requested", Family.LIFECYCLE,
                 "a Stop of a STOPPED job answers STOPPED and puts it back to STOP_REQUESTED", _STATUS,
                 store=_RestopsStoppedJobs))
register(Variant("ended_jobs_found_by_any_kind", Family.LIFECYCLE,
                 "another kind's (another service's) Stop and Describe find a job once it has ended, in an archive "
                 "of every service's jobs", _FOUND, store=_ArchiveOfEndedJobs))


@variant("describe_lags_behind_stop", Family.LIFECYCLE,
         "Describe reads a replica that learns of a Stop only once the job has stopped: a stopping job is described "
         "IN_PROGRESS", tuple(_STATUS))
def _describe_lags_behind_stop(app: VariantApp) -> None:
    def lag(request: HttpRequest, document: dict[str, Any]) -> dict[str, Any]:
        # Describe's answer holds the job's properties in a member of their own; Stop's JobStatus stands at the top.
        return {name: {**value, "JobStatus": IN_PROGRESS}
                if isinstance(value, dict) and value.get("JobStatus") == STOP_REQUESTED else value
                for name, value in document.items()}
    app.answer_filters.append(on_success(lag))
