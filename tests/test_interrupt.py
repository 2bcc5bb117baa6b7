"""Ctrl-C during a run (a real SIGINT to a real process): "interrupted" is said at once, an interrupted wait for a
stopped job is not judged, and every job the run started is still stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conformance.reference import ReferenceApp, ReferenceServer
from conformance.reference.job_store import JobStore, Timings

ROOT = Path(__file__).resolve().parents[1]
ANNOUNCE_WITHIN = 0.5  # seconds from the SIGINT to the first "interrupted" line


def test_ctrl_c_during_the_job_waits_is_said_at_once_judges_no_wait_and_stops_every_job(tmp_path: Path) -> None:
    """Jobs stay STOP_REQUESTED for 60 s: the flows are waiting on them when the SIGINT comes."""
    jobs = JobStore(timings=Timings(queued=0.05, running=600.0, stopping=60.0))
    report = tmp_path / "report.json"
    with ReferenceServer(app=ReferenceApp(jobs=jobs)) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "conformance", "run", "--endpoint-url", server.url, "--max-examples", "2000",
             "--verbose", "--settle-timeout", "120", "--report-json", str(report)],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        assert proc.stderr is not None
        said: list[float] = []
        lines: list[bytes] = []

        def read() -> None:
            """Note when the first line saying "interrupted" arrives."""
            for line in proc.stderr:  # type: ignore[union-attr]
                if b"interrupted" in line and not said:
                    said.append(time.monotonic())
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 120
            # Wait until the flows' jobs are all stopping: the flows then wait for them to settle.
            while not (started := jobs.every_job()) or any(job.stop_requested_at is None for job in started):
                assert time.monotonic() < deadline and proc.poll() is None, b"".join(lines)[-3000:]
                time.sleep(0.05)
            time.sleep(1.0)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            status = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        reader.join(timeout=10)
        output = b"".join(lines).decode(errors="replace")
        assert status == 130, output[-3000:]
        assert said and said[0] - sent < ANNOUNCE_WITHIN, (said, sent)
        every = jobs.every_job()
        assert every and all(job.stop_requested_at is not None for job in every)  # no job left running
    failures = json.loads(report.read_text(encoding="utf-8"))["failures"]
    settled = [failure for failure in failures
               if "job_status_allowed" in json.dumps(failure) and "existing.settled" in json.dumps(failure)]
    assert settled == [], settled[:1]
    assert "JobStatus 'STOP_REQUESTED'" not in output
