"""Sending requests: on one event loop (`event_loop`) over keep-alive connections parsed by httptools (`http1`),
SigV4 signing via botocore, retries on connection errors, an adaptive rate cap, a request budget, and the job-id
guard (`engine.safety`). Each of these is a module of its own; `Transport` puts them together for one target."""

from __future__ import annotations

import asyncio
import http.client
import logging
import threading
import time

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from conformance.cases import Signing
from conformance.engine.budget import Budget
from conformance.engine.safety import JobLedger
from conformance.engine.transport.connections import DIRECT, InvalidHeader, Route, failure_reason, wire_headers
from conformance.engine.transport.event_loop import SenderLoop
from conformance.engine.transport.proxies import environ_proxy
from conformance.engine.transport.rate import RateLimiter, backoff
from conformance.engine.transport.signing import signed_headers
from conformance.model.operations import ServiceMeta
from conformance.targets.target import Target
from conformance.wire.http import HttpRequest, HttpResponse
from conformance.wire.redaction import redact_headers

log = logging.getLogger(__name__)


class Unanswered(ConnectionError):
    """A request got no answer: the connection failed or closed before a status line, or the read timed out."""


class Transport:
    """Sends HttpRequests to one target over pooled keep-alive connections (`connections`), signed (`signing`),
    within the run's rate (`rate`) and budget, past the job-id guard (`safety`)."""

    def __init__(self, target: Target, *, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 connection_retries: int = 1, rate: float | None = None, pool_size: int = 16,
                 budget: int | None = None) -> None:
        self.target = target
        self.timeout = (connect_timeout, read_timeout)
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.connection_retries = connection_retries
        self.limiter = RateLimiter(rate)
        self.budget = Budget(budget)
        self.jobs = JobLedger()
        # Services whose unsigned request was refused, or served (the authentication phase's findings).
        self.refuses_unsigned: set[str] = set()
        self.serves_unsigned: set[str] = set()
        # One route per endpoint, its proxy resolved from the environment once, here: looking it up
        # per request (as requests' trust_env did, with ~/.netrc) costs more than sending.
        # HTTPS verifies certificates against the CA bundle requests used (certifi's, else botocore's).
        self._routes = {url: Route(url, pool_size, environ_proxy(url), self._timeout) for url in target.urls()}
        self.sent = 0
        self.first_sent_at: float | None = None  # time.monotonic() when the first request went out
        self.last_answer_at: float | None = None  # time.monotonic() when the latest answer was read
        self._count_lock = threading.Lock()
        self.sender = SenderLoop()  # every request goes out from its loop, whichever thread asks

    @property
    def path(self) -> str:
        """How requests go out, for a report to say: on the event loop, or through a proxy on threads."""
        kinds = {route.kind for route in self._routes.values()}
        ways = [f"one {self.sender.kind} event loop, answers parsed by httptools"] if DIRECT in kinds else []
        return "; ".join(ways + (["through a proxy: urllib3, a thread per request"] if kinds - {DIRECT} else []))

    def enforces_sigv4(self, service: ServiceMeta) -> bool | None:
        """Whether the target refuses requests to the service that are not SigV4-signed: AWS always does; another
        target once it refused an unsigned request, not once it served one; None while that is not known."""
        if self.target.is_aws or service.name in self.refuses_unsigned:
            return True
        return False if service.name in self.serves_unsigned else None

    def url_for(self, request: HttpRequest, service: ServiceMeta) -> str:
        """The absolute URL of a request to a service."""
        return self.target.endpoint(service.name).rstrip("/") + request.path

    def prepare(self, request: HttpRequest, service: ServiceMeta, signing: Signing = Signing.SIGV4) -> dict[str, str]:
        """The headers to send: the request's own, plus a SigV4 signature (or a broken one) when the target has
        credentials (`signing.signed_headers`)."""
        return signed_headers(request, self.url_for(request, service), service, self.target, signing)

    def send(self, request: HttpRequest, service: ServiceMeta, *, signing: Signing = Signing.SIGV4,
             starts_job: bool = False, essential: bool = False) -> HttpResponse:
        """`asend`, from a thread other than the sending loop's, waiting for the answer."""
        return self.sender.run(self.asend(request, service, signing=signing, starts_job=starts_job,
                                          essential=essential))

    async def asend(self, request: HttpRequest, service: ServiceMeta, *, signing: Signing = Signing.SIGV4,
                    starts_job: bool = False, essential: bool = False) -> HttpResponse:
        """Send, retrying `connection_retries` times only when no answer came; raises Unanswered, BudgetExhausted,
        UnsafeRequest. Runs on the sending loop.

        Only a Start (`starts_job`) may carry a string of the real job-id form the run did not create;
        an `essential` request (stopping a job the run started) is sent even past the budget.
        """
        if not starts_job:
            self.jobs.check(request.body, request.header("Content-Type"))
        url = self.url_for(request, service)
        route = self._routes[self.target.endpoint(service.name)]
        last_error: Exception | None = None
        for attempt in range(self.connection_retries + 1):
            if attempt:
                await asyncio.sleep(backoff(attempt))
            self.budget.spend(essential)
            delay = self.limiter.reserve()
            if delay > 0:
                await asyncio.sleep(delay)
            headers = self.prepare(request, service, signing)  # re-signed per attempt: the date moves
            began = time.monotonic()
            if self.first_sent_at is None:
                self.first_sent_at = began
            try:
                answer = await route.send(request.method, request.path, wire_headers(headers, request), request.body)
            except (Urllib3Error, http.client.HTTPException, OSError, InvalidHeader) as exc:
                last_error = exc  # refused, reset, closed before a status line, timed out, not sendable
                continue
            # A status line came and then the body broke or overflowed: still an answer, and it is judged.
            answered = time.monotonic()
            with self._count_lock:
                self.sent += 1
                self.last_answer_at = answered if self.last_answer_at is None else max(self.last_answer_at, answered)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s %s %r -> %s %s %r", request.method, url, redact_headers(headers), request.body[:200],
                          answer.status, redact_headers(answer.headers), answer.body[:200])
            return HttpResponse(answer.status, answer.headers, answer.body, answered - began,
                                body_error=answer.body_error)
        raise Unanswered(f"{url} gave no answer ({self.connection_retries + 1} attempts): {failure_reason(last_error)}")

    def close(self) -> None:
        """Close pooled connections and stop the sending loop."""
        async def close_routes() -> None:
            for route in self._routes.values():
                route.close()

        if self.sender.started and not self.sender.on_loop():
            self.sender.run(close_routes())
        else:
            for route in self._routes.values():
                route.close()
        self.sender.close()
