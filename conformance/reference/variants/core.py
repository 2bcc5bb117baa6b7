"""A variant as a record: its name, family, what it changes and which checks must catch it; the registry of them;
and the app a variant's changes hook into."""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.reference.answers import ApiError, Response, new_request_id
from conformance.reference.app import ReferenceApp
from conformance.reference.aws_mode import SigV4Verifier
from conformance.reference.catalog import Route
from conformance.reference.job_store import Clock, JobStore, SystemClock, Timings
from conformance.reference.protocols import AWS_JSON
from conformance.reference.server import HttpOptions
from conformance.wire.http import HttpRequest

log = logging.getLogger(__name__)


class Family(enum.StrEnum):
    """What a variant is: a fault of one family (the suite must fail it), a warned or a legal variation."""

    VALIDATION = "validation"
    ERROR_TYPING = "error typing"
    ANSWERS = "answers"
    PROTOCOL = "protocol"
    LIFECYCLE = "lifecycle"
    SIGNING = "signing"  # a SigV4 verifier that checks only part of SigV4
    SPELLING = "spelling"  # a reader that misreads one legal spelling of a request document
    WARNED = "warned"  # departs from a SHOULD (or field evidence): the suite passes it, and warns
    LEGAL = "legal"  # differs from the reference and conforms: the suite passes it, silently


FAMILIES = tuple(family.value for family in Family)

AnswerFilter = Callable[[HttpRequest, Response], Response]
Intercept = Callable[[HttpRequest], Response | None]  # an answer that replaces the reference's, or None
# A changed step gets the request and the reference's own step, to call where it changes nothing.
RouteStep = Callable[[HttpRequest], Route]
ReadStep = Callable[[HttpRequest], dict[str, Any]]
RouteHook = Callable[[HttpRequest, RouteStep], Route]
ReadHook = Callable[[HttpRequest, ReadStep], dict[str, Any]]
ScopeHook = Callable[[HttpRequest, Route | None], set[str]]  # the signing names a signature may be scoped to


@dataclass(frozen=True)
class Variant:
    """One named change to the reference server: hooks its `configure` fills in, how answers are framed (`http`),
    job timings, and the job store its jobs live in (a store with a fault of its own)."""

    name: str
    family: Family
    description: str
    caught_by: frozenset[str] = frozenset()  # checks that must fail against a fault (warn, for a warned one)
    configure: Callable[[VariantApp], None] | None = None
    http: HttpOptions = HttpOptions()
    timings: Timings | None = None  # job phase durations the variant needs, if not the default
    store: type[JobStore] = JobStore
    enforce_sigv4: bool = False  # serve only requests signed with the test keys (as `serve --enforce-sigv4`)

    @property
    def legal(self) -> bool:
        """Whether the variant conforms with nothing to say (the suite must pass it, without a warning)."""
        return self.family is Family.LEGAL

    @property
    def warned(self) -> bool:
        """Whether the variant conforms but departs from a SHOULD (the suite must pass it, and warn)."""
        return self.family is Family.WARNED

    @property
    def fault(self) -> bool:
        """Whether the variant breaks a MUST (the suite must fail it)."""
        return not (self.legal or self.warned)

    @property
    def only_hooks(self) -> bool:
        """Whether all it changes is done by its configure function (so that it combines with others)."""
        return self.store is JobStore and self.timings is None and self.http == HttpOptions() and not self.enforce_sigv4


class VariantApp(ReferenceApp):
    """The reference app with hooks a variant fills in; unset hooks keep the reference behaviour."""

    def __init__(self, variant: Variant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.variant = variant
        self.answer_filters: list[AnswerFilter] = []
        self.intercepts: list[Intercept] = []
        self.route_hook: RouteHook | None = None
        self.read_hook: ReadHook | None = None
        self.scope_hook: ScopeHook | None = None
        self.extra_checks: list[Callable[[Route, dict[str, Any]], None]] = []
        self.validate = True
        if variant.configure is not None:
            variant.configure(self)

    def handle(self, request: HttpRequest) -> Response:
        """Answer one request: an intercept's answer if one gives it, else the reference's, filtered."""
        try:
            for intercept in self.intercepts:
                # Final as it is: it stands for something other than the reference logic answering,
                # so the request has no effect on jobs and no answer filter applies.
                if (intercepted := intercept(request)) is not None:
                    return intercepted
            response = super().handle(request)  # answers a bug of its own with a 500; never raises
            for answer_filter in self.answer_filters:
                response = answer_filter(request, response)
        except Exception:  # a bug in a variant: answer like any server bug, keep the connection
            log.exception("variant %s failed on %s", self.variant.name, request.path)
            return AWS_JSON.failure(ApiError("InternalServerException", 500, "variant failed"), new_request_id())
        return response

    def route(self, request: HttpRequest) -> Route:
        """The route_hook's route, if set."""
        return self.route_hook(request, super().route) if self.route_hook else super().route(request)

    def read_input(self, request: HttpRequest) -> dict[str, Any]:
        """The read_hook's document, if set."""
        return self.read_hook(request, super().read_input) if self.read_hook else super().read_input(request)

    def signing_services(self, request: HttpRequest, route: Route | None) -> set[str]:
        """The scope_hook's services, if set."""
        return self.scope_hook(request, route) if self.scope_hook else super().signing_services(request, route)

    def validate_input(self, route: Route, document: dict[str, Any]) -> None:
        """The reference's validation (unless switched off), then the variant's own checks."""
        if self.validate:
            super().validate_input(route, document)
        for check in self.extra_checks:
            check(route, document)

    def edit_job_id(self, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Change the JobId member's schema of every operation that takes one."""
        for target, route in list(self.routes.items()):
            properties = route.operation.request.get("properties", {})
            if "JobId" not in properties:
                continue
            job_id = edit(dict(properties["JobId"]))
            request = {**route.operation.request, "properties": {**properties, "JobId": job_id}}
            operation = dataclasses.replace(route.operation, request=request, _validators={})
            self.routes[target] = dataclasses.replace(route, operation=operation)


VARIANTS: dict[str, Variant] = {}


def _known_checks() -> frozenset[str]:
    """Every id a variant may name in caught_by: the registered checks and the coverage contract's."""
    from conformance.judging.checks import CHECK_IDS

    return CHECK_IDS


def register(variant: Variant) -> Variant:
    """Add a variant to the registry; ValueError for a second one of its name, or a caught_by that names no check
    (or is empty for a fault, or set for a legal variation)."""
    if variant.name in VARIANTS:
        raise ValueError(f"variant {variant.name!r} is registered twice")
    unknown = sorted(variant.caught_by - _known_checks())
    if unknown:
        raise ValueError(f"variant {variant.name!r}: caught_by names no check: {', '.join(unknown)}")
    if variant.legal == bool(variant.caught_by):
        raise ValueError(f"variant {variant.name!r}: a legal variation is caught by no check, and any other by some")
    VARIANTS[variant.name] = variant
    return variant


def variant(name: str, family: Family, description: str, caught_by: tuple[str, ...] = (),
            http: HttpOptions | None = None, timings: Timings | None = None) \
        -> Callable[[Callable[[VariantApp], None]], Callable[[VariantApp], None]]:
    """Register a variant whose change is the decorated configure function."""
    def decorate(configure: Callable[[VariantApp], None]) -> Callable[[VariantApp], None]:
        register(Variant(name, family, description, frozenset(caught_by), configure, http or HttpOptions(), timings))
        return configure
    return decorate


class UnknownVariant(KeyError):
    """No variant of that name."""


def build_app(name: str, clock: Clock | None = None, timings: Timings | None = None, **kwargs: Any) -> VariantApp:
    """The app of the variant of that name, with its own job store (UnknownVariant lists the names)."""
    if name not in VARIANTS:
        raise UnknownVariant(f"no variant named {name!r} (known: {', '.join(sorted(VARIANTS))})")
    chosen = VARIANTS[name]
    jobs = chosen.store(clock or SystemClock(), chosen.timings or timings or Timings())
    if chosen.enforce_sigv4 and kwargs.get("verifier") is None:
        kwargs["verifier"] = SigV4Verifier()
    return VariantApp(chosen, jobs=jobs, **kwargs)
