"""`conformance serve`: the reference server (or one of its variants) on a port, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading

from conformance.cli.errors import EXIT_OK, error
from conformance.model.operations import SchemaDocumentError
from conformance.reference import JobStore, ReferenceApp, ReferenceServer, SystemClock, Timings, variants
from conformance.reference.aws_mode import SigV4Verifier, Throttle
from conformance.targets.resolve import chain_credentials, environment_credentials
from conformance.targets.target import TargetError


def serve_command(args: argparse.Namespace) -> int:
    """List the variants, or serve until stopped; the exit status."""
    if args.list_variants:
        for variant in sorted(variants.VARIANTS.values(), key=lambda v: (v.family, v.name)):
            print(f"{variant.name:36} {variant.family:13} {variant.description}")
        return EXIT_OK
    if _given_pair(args) and not args.enforce_sigv4:
        return error("--sigv4-credentials-from-environment and --sigv4-profile need --enforce-sigv4")
    throttle = Throttle(args.throttle) if args.throttle else None
    try:
        app, server = _server(args, _verifier(args), throttle)
    except TargetError as exc:  # the key pair asked for cannot be read
        return error(str(exc))
    except variants.UnknownVariant as exc:
        return error(str(exc).strip('"'))
    except SchemaDocumentError as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    services = sorted({route.operation.service.full_name for route in app.routes.values()})
    which = f"variant {args.variant} of the reference server" if args.variant else "reference server"
    print(f"{which} listening on {server.url} ({', '.join(services)}; {', '.join(sorted(app.protocols))})",
          flush=True)
    print(f"operations: {', '.join(sorted(route.operation.name for route in app.routes.values()))}", flush=True)
    verifier = app.verifier  # a variant may enforce SigV4 of its own
    keys = "the given key pair only, access key id" if _given_pair(args) else "test access key ids"
    # Access key ids only: a secret is never printed.
    signing = f"SigV4 enforced ({keys}: {', '.join(verifier.access_keys)})" if verifier else "SigV4 not checked"
    throttling = f"throttled above {throttle.rate:g} requests/s" if throttle else "not throttled"
    print(f"modes: {signing}; {throttling}", flush=True)
    return _serve_until_stopped(server, args.shutdown_grace)


def _given_pair(args: argparse.Namespace) -> bool:
    return bool(args.sigv4_credentials_from_environment or args.sigv4_profile is not None)


def _verifier(args: argparse.Namespace) -> SigV4Verifier | None:
    """The SigV4 check asked for: against the built-in test keys, or against the one key pair given (from the
    environment or a profile); TargetError when that pair cannot be read."""
    if not args.enforce_sigv4:
        return None
    if args.sigv4_credentials_from_environment:
        given = environment_credentials()
    elif args.sigv4_profile is not None:
        given = chain_credentials(args.sigv4_profile)
    else:
        return SigV4Verifier()
    # The given pair only: the public test keys, which anyone can sign with, would let anyone's request through to a
    # server that checks a real pair, and the suite's unknown-key case would prove nothing there.
    return SigV4Verifier({given.access_key: given})


def _server(args: argparse.Namespace, verifier: SigV4Verifier | None,
            throttle: Throttle | None) -> tuple[ReferenceApp, ReferenceServer]:
    """The app (the reference, or a variant) and its server, bound to the port asked for."""
    timings = Timings(args.job_queued_seconds, args.job_running_seconds, args.job_stopping_seconds)
    http = variants.HttpOptions()
    if args.variant:
        app: ReferenceApp = variants.build_app(args.variant, timings=timings, schema_dir=args.schemas,
                                               region=args.region, verifier=verifier, throttle=throttle)
        http = app.variant.http  # type: ignore[attr-defined]
    else:
        app = ReferenceApp(JobStore(SystemClock(), timings), schema_dir=args.schemas, region=args.region,
                           verifier=verifier, throttle=throttle)
    limits = {"max_connections": args.max_connections} if args.max_connections else {}
    server = ReferenceServer(args.host, args.port, app, max_body_bytes=args.max_body_bytes, verbose=args.verbose,
                             http_options=http, log_requests=args.log_requests, shutdown_grace=args.shutdown_grace,
                             **limits)
    return app, server


def _serve_until_stopped(server: ReferenceServer, grace: float) -> int:
    """Serve until Ctrl-C (stop at once) or SIGTERM (stop accepting, finish what is in flight within `grace`)."""
    # SIGTERM (docker stop, systemd, Kubernetes) stops gracefully. interrupt() waits for the serving loop
    # to end, and the loop runs on this thread: called from the handler, it would wait for itself.
    previous = signal.signal(signal.SIGTERM,
                             lambda signum, frame: threading.Thread(target=server.interrupt, daemon=True).start())
    try:
        cut = server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)  # main() may be called again in this process (tests do)
    ending = f"{cut} answer(s) still in flight after {grace:g} s were cut" if cut \
        else "every answer in flight was finished"
    print(f"stopped on SIGTERM: {ending}", flush=True)
    return EXIT_OK
