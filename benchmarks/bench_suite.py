"""The suite's speed, as the figures and ratios of issues 15 and 24, measured in one run.

1. Request rate: a bare `http.client` keep-alive loop against the reference server (its own
   process), beside `conformance run` at --max-examples 400 and 1600, with job flows and without
   (--no-create-jobs), against the same server: counted from the run's first request to its last
   answer (the same window for the bare loop: a fixed Stop), and over the run's whole elapsed time.
   Where a ratio is under 0.7 (issue 24's goal), the sending process's CPU per request by stage.
2. First request: how long after `conformance run` starts (a new process, imports included) the
   first request reaches the endpoint, and the run's wall time beside its sending window.
3. The default run (embedded server), `--all-operations`, `--max-examples 6400` and
   `--state-machine-steps 400`: wall time; with `--compare-to GIT_REF`, the default run against that
   commit's, alternating (issue 20 holds it within 1.5x of the code before it, 810f782).
4. Optionally, Schemathesis on the same target (awsJson1_1 Stop operations, `--max-examples` 50
   and 100): wall time and requests, beside the suite's default verdict. Pass `--schemathesis
   PATH/TO/st` or have `st` on PATH; skipped otherwise.

    python benchmarks/bench_suite.py [--repeat 3] [--schemathesis /path/to/st] [--compare-to GIT_REF]

Prints figures only; nothing here asserts a timing. A run of 400 examples sends for about a second,
so on a shared machine one measure of the rate varies by 15%: the rate is the median of --repeat
runs, each beside a bare loop measured just before it.

Figures of the code before issue 24 (threads sending, http.client parsing; 2 cores):
  - rate, from first request to last answer, 400 examples: 0.47-0.49 of the bare loop; over a whole
    run (--no-create-jobs, 1,600 to 3,200 examples): 0.32
  - ~0.6 ms of CPU per request in the sending process, 38% of it threads waiting for the GIL
  Measured again beside issue 24's code (0245ecc against it, each in its own process, alternating, one server,
  the same bare loop; medians of 3): 400 examples with job flows 792 against 1,307 requests/s (0.39 against
  0.64 of the bare loop); 1600 without 923 against 1,492 (0.43 against 0.78; 0.42 against 0.76 over the whole
  run); --max-examples 6400 40.7 against 23.0 s; the default run 1.75 against 1.55 s.

Figures of the code before issue 15 (as the issue recorded them, same kind of machine):
  - rate, suite against bare loop: 0.25x (about 600 against 2,400 requests/s); 4 workers no faster than 1
  - client alone against a do-nothing server: about 1 ms of wall time a request, bare loop 0.2 ms
  - first request: only after every case of every lane was drawn (2 s of the 5 s default run)
  - --max-examples 6400: 216 s, 174 s of it drawing before the first request
  - the default run idled about 1.3 s waiting for the embedded server's jobs (a stop took 2 s, polled every 0.5 s)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _server import server_process

from conformance.engine.config import LifecycleConfig, RunConfig
from conformance.engine.runner import run
from conformance.generation import streams
from conformance.model.operations import load_operations
from conformance.reference import EMBEDDED_TIMINGS, JobStore, ReferenceApp, ReferenceServer, SystemClock
from conformance.targets.target import Target
from conformance.wire.http import HttpRequest

STOP = "Comprehend_20171127.StopPiiEntitiesDetectionJob"


def bare_rate(host: str, port: int, seconds: float) -> float:
    """Requests/s of one keep-alive connection sending a fixed Stop, answer read in full."""
    connection = http.client.HTTPConnection(host, port)
    sent = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        connection.request("POST", "/", body=b'{"JobId": "job-1"}',
                           headers={"X-Amz-Target": STOP, "Content-Type": "application/x-amz-json-1.1"})
        connection.getresponse().read()
        sent += 1
    connection.close()
    return sent / (time.perf_counter() - began)


def suite_window(url: str, max_examples: int, workers: int = 4, create_jobs: bool = True) \
        -> tuple[float, int, float, float, str]:
    """(requests/s from first request to last answer, requests, that window, wall time of the whole run, how it
    sent), drawn from the start (no case kept from an earlier run in this process)."""
    streams.stream.cache_clear()
    began = time.perf_counter()
    result = run(RunConfig(Target(url), max_examples=max_examples, seed=1, workers=workers, create_jobs=create_jobs,
                           lifecycle=LifecycleConfig(settle_timeout=0)))
    wall = time.perf_counter() - began
    window = max(result.sending_window, 1e-9)
    return result.requests_sent / window, result.requests_sent, window, wall, result.sender


# The sending process's stages, each a function the run calls per request (or per case), timed in the thread that
# calls it; the rest of the process's CPU is the event loop, sockets, parsing, the phases' own bookkeeping.
STAGES = {
    "reading cases from the drawing process": [("conformance.generation.drawing_process", "DrawingProcess", "next")],
    "encoding": [("conformance.protocols.awsjson", "AwsJson11", "encode"),
                 ("conformance.protocols.rpcv2cbor", "RpcV2Cbor", "encode")],
    "signing": [("conformance.engine.transport", None, "signed_headers")],
    "decoding": [("conformance.protocols.awsjson", "AwsJson11", "decode"),
                 ("conformance.protocols.rpcv2cbor", "RpcV2Cbor", "decode")],
    "judging (oracle and checks)": [("conformance.engine.execute", None, "run_checks"),
                                    ("conformance.engine.execute", None, "expect"),
                                    ("conformance.engine.execute", None, "observe")],
}


def cpu_by_stage(url: str, max_examples: int, create_jobs: bool) -> tuple[dict[str, float], float, int]:
    """({stage: CPU seconds}, the sending process's CPU seconds in all, requests) of one run, each stage timed by
    thread CPU time around its function."""
    import importlib
    spent = dict.fromkeys(STAGES, 0.0)
    undo = []
    for stage, places in STAGES.items():
        for module_name, class_name, name in places:
            module = importlib.import_module(module_name)
            owner = getattr(module, class_name) if class_name else module
            original = getattr(owner, name)

            def timed(*args: object, _original=original, _stage=stage, **kwargs: object) -> object:
                began = time.thread_time()
                try:
                    return _original(*args, **kwargs)
                finally:
                    spent[_stage] += time.thread_time() - began
            setattr(owner, name, timed)
            undo.append((owner, name, original))
    streams.stream.cache_clear()
    began = time.process_time()
    try:
        result = run(RunConfig(Target(url), max_examples=max_examples, seed=1, create_jobs=create_jobs,
                               lifecycle=LifecycleConfig(settle_timeout=0)))
    finally:
        for owner, name, original in undo:
            setattr(owner, name, original)
    return spent, time.process_time() - began, result.requests_sent


class RecordingApp(ReferenceApp):
    """The reference app with the embedded target's quick jobs, noting when each request arrives."""

    def __init__(self) -> None:
        super().__init__(JobStore(SystemClock(), EMBEDDED_TIMINGS))
        self.arrivals: list[float] = []
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        with self._lock:
            self.arrivals.append(time.perf_counter())
        return super().handle(request)


def timed_process(argv: list[str], url: str | None = None) -> tuple[float, float | None, float | None, int]:
    """Run `conformance ARGV` as a new process; (wall, first request after start, last request after start,
    requests) as seen by an in-process recording reference server when `url` is None, else wall only."""
    app = RecordingApp()
    with ReferenceServer(app=app) as server:
        endpoint = ["--endpoint-url", server.url] if url is None else []
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "conformance", *argv, *endpoint], capture_output=True, check=False)
        wall = time.perf_counter() - began
    if not app.arrivals:
        return wall, None, None, 0
    return wall, app.arrivals[0] - began, app.arrivals[-1] - began, len(app.arrivals)


def default_run_wall(source: Path, *extra: str) -> float:
    """Wall time of `conformance run --seed 1 EXTRA` (embedded server) with the package imported from `source`."""
    environment = {**os.environ, "PYTHONPATH": str(source)}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "conformance", "run", "--seed", "1", *extra], capture_output=True,
                   check=False, cwd=source, env=environment)
    return time.perf_counter() - began


def compare_default_runs(ref: str, repeat: int) -> None:
    """The default run's wall time here against at `ref`, alternating so that a busy host weighs on both alike."""
    here = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as folder:
        other = Path(folder) / "baseline"
        subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(other), ref], check=True,
                       capture_output=True)
        try:
            default_run_wall(other), default_run_wall(here)  # warm both (byte-compiling, the disk cache)
            walls: dict[str, list[float]] = {"here": [], ref: []}
            for _ in range(max(repeat, 1)):
                walls[ref].append(default_run_wall(other))
                walls["here"].append(default_run_wall(here))
            deep = {"here": default_run_wall(here, "--max-examples", "6400"),
                    ref: default_run_wall(other, "--max-examples", "6400")}
        finally:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(other)], check=False,
                           capture_output=True)
    middle = {name: sorted(values)[len(values) // 2] for name, values in walls.items()}
    print(f"   the default run here against {ref} (median of {repeat}, alternating): {middle['here']:.2f} s against "
          f"{middle[ref]:.2f} s, ratio {middle['here'] / middle[ref]:.2f}   (here: "
          f"{', '.join(f'{w:.2f}' for w in walls['here'])}; {ref}: {', '.join(f'{w:.2f}' for w in walls[ref])})")
    print(f"   --max-examples 6400 here against {ref} (once each): {deep['here']:.1f} s against {deep[ref]:.1f} s, "
          f"ratio {deep['here'] / deep[ref]:.2f}")


def openapi_document() -> dict:
    """An OpenAPI 3.1 description of the awsJson1_1 Stop operations at `/`, for Schemathesis."""
    operations = [op for op in load_operations() if op.name in ("StopPiiEntitiesDetectionJob", "StopPHIDetectionJob")]
    request = operations[0].request  # both take the same JobId
    errors = {"description": "an error", "content": {"application/x-amz-json-1.1": {"schema": {"type": "object"}}}}
    return {
        "openapi": "3.1.0", "info": {"title": "Stop-job operations over awsJson1_1", "version": "1"},
        "paths": {"/": {"post": {
            "operationId": "StopJob",
            "parameters": [{"name": "X-Amz-Target", "in": "header", "required": True,
                            "schema": {"type": "string", "enum": [op.target for op in operations]}}],
            "requestBody": {"required": True, "content": {"application/x-amz-json-1.1": {"schema": request}}},
            "responses": {"200": {"description": "stopped", "content": {"application/x-amz-json-1.1": {
                "schema": operations[0].response}}}, "400": errors, "500": errors},
        }}},
    }


def schemathesis_runs(st: str, repeat: int) -> None:
    """Schemathesis against a recording reference server, beside the suite's default verdict on one (medians)."""
    suite = sorted(timed_process(["run", "--seed", "1"])[::3] for _ in range(repeat))[repeat // 2]
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "openapi.json"
        spec.write_text(json.dumps(openapi_document()))
        hooks = Path(folder) / "awsjson_hooks.py"
        hooks.write_text("import schemathesis\n"
                         "schemathesis.serializer.alias('application/x-amz-json-1.1', 'application/json')\n")
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "awsjson_hooks", "PYTHONPATH": folder}
        for examples in (50, 100):
            runs = []
            for _ in range(repeat):
                app = RecordingApp()
                with ReferenceServer(app=app) as server:
                    began = time.perf_counter()
                    subprocess.run([st, "run", str(spec), "--url", server.url, "--max-examples", str(examples),
                                    "--checks", "not_a_server_error"], capture_output=True, check=False, env=env)
                    runs.append((time.perf_counter() - began, len(app.arrivals)))
            wall, sent = sorted(runs)[repeat // 2]
            print(f"   Schemathesis --max-examples {examples}: {wall:5.2f} s wall, {sent} requests; the suite's default "
                  f"verdict: {suite[0]:5.2f} s, {suite[1]} requests   ratio of walls: {suite[0] / wall:.2f} (goal 0.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long the bare loop runs")
    parser.add_argument("--max-examples", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3, help="runs per rate figure (the median is printed)")
    parser.add_argument("--schemathesis", default=shutil.which("st"), metavar="PATH", help="Schemathesis's `st`")
    parser.add_argument("--compare-to", metavar="GIT_REF",
                        help="also time the default run of this commit (checked out apart) against this tree's, "
                             "alternating, --repeat times each, and print the ratio of the medians")
    args = parser.parse_args()

    print("1. request rate, against `conformance serve` in its own process (before issue 24: 0.47-0.49, 0.32 over a "
          "whole run; goal 0.7)")
    with server_process() as (host, port):
        url = f"http://{host}:{port}"
        for examples in (400, 1600):
            for create_jobs in (True, False):
                rows = []
                for _ in range(args.repeat):
                    bare = bare_rate(host, port, args.seconds)
                    rate, sent, window, wall, sender = suite_window(url, examples, create_jobs=create_jobs)
                    rows.append((rate / bare, sent / wall / bare, rate, bare, sent, window, wall, sender))
                ratio, whole, rate, bare, sent, window, wall, sender = sorted(rows)[len(rows) // 2]
                flows = "with job flows" if create_jobs else "--no-create-jobs"
                print(f"   --max-examples {examples}, {flows}: {rate:5.0f} requests/s from first request to last answer "
                      f"({sent} requests in {window:.2f} s; {wall:.2f} s in all), bare loop {bare:5.0f}/s   ratio "
                      f"to bare: {ratio:.2f}, over the whole run {whole:.2f} (medians of {args.repeat}: "
                      f"{', '.join(f'{row[0]:.2f}' for row in sorted(rows))})")
                if ratio < 0.7:
                    spent, total, requests = cpu_by_stage(url, examples, create_jobs)
                    stages = ", ".join(f"{stage} {1e6 * cpu / requests:.0f}" for stage, cpu in spent.items())
                    print(f"      CPU per request of the sending process, us: {1e6 * total / requests:.0f} in all: "
                          f"{stages}, the rest (event loop, sockets, parsing, phases) "
                          f"{1e6 * (total - sum(spent.values())) / requests:.0f}")
        print(f"   sent from {sender}")

    print("2. first request, as a new process sees it (imports included; before issue 24: 0.33-0.38 s)")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("   (PYTHONDONTWRITEBYTECODE is set: unless the package was byte-compiled at install, each new process "
              "compiles its modules anew, ~0.04 s more than a usual install)")
    wall, first, last, sent = timed_process(["run", "--seed", "1"])
    assert first is not None and last is not None
    print(f"   `conformance run --endpoint-url`: first request after {first:.2f} s, last after {last:.2f} s, "
          f"{sent} requests, {wall:.2f} s wall   (sending window {last - first:.2f} s)")

    print("3. whole runs (embedded reference server; --max-examples 6400 was 216 s)")
    for argv in (["run", "--seed", "1"], ["run", "--seed", "1", "--all-operations"],
                 ["run", "--seed", "1", "--max-examples", "6400"],
                 ["run", "--seed", "1", "--state-machine-steps", "400"]):
        wall, *_ = timed_process(argv, url="embedded")
        print(f"   conformance {' '.join(argv)}: {wall:6.2f} s wall")
    if args.compare_to:
        compare_default_runs(args.compare_to, args.repeat)

    print("4. Schemathesis (optional)")
    if args.schemathesis:
        schemathesis_runs(args.schemathesis, args.repeat)
    else:
        print("   skipped: no `st` on PATH (pass --schemathesis PATH)")


if __name__ == "__main__":
    main()
