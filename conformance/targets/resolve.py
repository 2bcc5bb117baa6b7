"""The target of a run, from what the user chose: the embedded reference server, moto, AWS, or an endpoint URL.

The command line and the pytest plugin both resolve their options here (`open_target`), so that a
choice means the same target in either. Credentials: botocore's chain for AWS endpoints (and, when
allowed, for a custom one); the suite's dummy pair anywhere else, so real keys never leave for a
host outside AWS unless the user says they may.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from botocore.credentials import Credentials

from conformance.model.job_apis import JobSetup
from conformance.targets.target import Target, TargetError, hide_userinfo

TARGETS = ("reference", "moto", "aws")


@dataclass(frozen=True)
class TargetChoice:
    """What the user chose: an endpoint URL or a named target, and how to treat it."""

    endpoint_url: str | None = None
    target: str | None = None  # one of TARGETS; None with no endpoint_url: the embedded reference server
    region: str = "us-east-1"
    profile: str | None = None
    allow_credentials_to_custom_endpoint: bool = False
    schema_dir: Path | None = None  # what the embedded reference server serves
    create_jobs: bool = False  # on AWS: start real jobs (needs the job setup)
    no_create_jobs: bool = False
    input_s3_uri: str | None = None
    output_s3_uri: str | None = None
    data_access_role_arn: str | None = None
    credentials_required: bool = True  # False for a dry run, which signs nothing it sends
    serve_apart: bool = True  # the embedded server in a process of its own where the platform forks


def open_target(choice: TargetChoice, stack: contextlib.ExitStack) -> Target:
    """The target chosen; a server the choice starts (the reference server, moto) stops when `stack` closes.
    TargetError (or MotoUnavailable, SchemaDocumentError) when the choice cannot work."""
    creates_jobs = not choice.no_create_jobs
    if choice.target == "moto":
        from conformance.targets.moto import moto_server

        url = stack.enter_context(moto_server())
        return Target(url, region=choice.region, name="moto", creates_jobs=creates_jobs)
    if choice.target == "aws":
        return aws_target(choice)
    if choice.endpoint_url is None:
        from conformance.reference import embedded_server
        from conformance.reference.child_process import serving_in_child_process

        server = embedded_server(choice.schema_dir)
        url = stack.enter_context(serving_in_child_process(server)) if choice.serve_apart else \
            stack.enter_context(server).url
        return Target(url, region=choice.region, name="embedded reference server", creates_jobs=creates_jobs)
    target = credentials_target(choice.endpoint_url, choice.region, choice.profile,
                                choice.allow_credentials_to_custom_endpoint, required=choice.credentials_required)
    if choice.create_jobs and target.is_aws:
        raise TargetError("--create-jobs on an AWS endpoint: use --target aws, which takes the S3 data and role")
    # On AWS a job costs money and needs real S3 data: only `--target aws --create-jobs` starts one.
    return target.with_changes(creates_jobs=not (choice.no_create_jobs or target.is_aws))


def aws_target(choice: TargetChoice) -> Target:
    """AWS: each service's endpoint as the SDKs resolve it, botocore's credential chain, jobs only when asked."""
    setup = None
    if choice.create_jobs:
        given = {"--input-s3-uri": choice.input_s3_uri, "--output-s3-uri": choice.output_s3_uri,
                 "--data-access-role-arn": choice.data_access_role_arn}
        missing = [flag for flag, value in given.items() if not value]
        if missing:
            raise TargetError(f"--create-jobs on AWS needs {', '.join(missing)}: real jobs read S3 data "
                              "through a role the service assumes")
        try:
            setup = JobSetup(str(choice.input_s3_uri), str(choice.output_s3_uri), str(choice.data_access_role_arn))
        except ValueError as exc:
            raise TargetError(str(exc)) from None
    credentials = chain_credentials(choice.profile, required=choice.credentials_required)
    urls = aws_endpoints(choice.region, choice.profile)
    first = next(iter(urls.values()))
    return Target(first, region=choice.region, credentials=credentials, name="AWS", creates_jobs=setup is not None,
                  service_urls=tuple(urls.items()), job_setup=setup,
                  credentials_to_custom_endpoint=choice.allow_credentials_to_custom_endpoint)


def aws_endpoints(region: str, profile: str | None = None) -> dict[str, str]:
    """Each service's endpoint as the AWS SDKs resolve it: the region's, or AWS_ENDPOINT_URL(_SERVICE) and config."""
    import botocore.exceptions
    import botocore.session

    from conformance.model.operations import load_operations

    session = botocore.session.Session(profile=profile)
    urls: dict[str, str] = {}
    for service in sorted({op.service.name for op in load_operations()}):
        try:
            # Explicit throwaway keys: creating a client must not walk the credential chain again.
            client = session.create_client(service, region_name=region, aws_access_key_id="endpoint-only",
                                           aws_secret_access_key="endpoint-only")
        except botocore.exceptions.ProfileNotFound:
            raise TargetError(f"no AWS profile named {profile!r}") from None
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:
            # botocore's message quotes the URL of AWS_ENDPOINT_URL*, with any password in it
            raise TargetError(f"no {service} endpoint for region {region!r}: {hide_userinfo(str(exc))}") from None
        urls[service] = client.meta.endpoint_url
    return urls


def chain_credentials(profile: str | None, required: bool = True) -> Credentials | None:
    """Frozen credentials from botocore's chain (environment, profiles, SSO, roles); TargetError when there are none."""
    import botocore.exceptions
    import botocore.session

    try:
        credentials = botocore.session.Session(profile=profile).get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except botocore.exceptions.ProfileNotFound:
        raise TargetError(f"no AWS profile named {profile!r}") from None
    except botocore.exceptions.BotoCoreError as exc:  # an SSO session expired, a role that cannot be assumed...
        raise TargetError(f"AWS credentials could not be loaded: {exc}") from None
    if frozen is None or not frozen.access_key or not frozen.secret_key:
        if not required:
            return None
        raise TargetError("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, "
                          "or log in with `aws sso login` (botocore's chain: environment, profiles, SSO, roles)")
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def environment_credentials() -> Credentials:
    """The key pair of $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY (with $AWS_SESSION_TOKEN, if set), as the
    environment step of botocore's chain reads them; TargetError when they are not both set."""
    import botocore.credentials
    import botocore.exceptions

    try:
        found = botocore.credentials.EnvProvider().load()
    except botocore.exceptions.BotoCoreError as exc:  # one of the two set without the other
        raise TargetError(f"AWS credentials could not be read from the environment: {exc}") from None
    frozen = found.get_frozen_credentials() if found is not None else None
    if frozen is None or not frozen.access_key or not frozen.secret_key:
        raise TargetError("no AWS credentials in the environment: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def credentials_target(url: str, region: str, profile: str | None, allow_custom: bool = False,
                       required: bool = True) -> Target:
    """A target for a URL: botocore's credential chain for AWS endpoints (and, if allowed, others); dummy elsewhere."""
    target = Target(url, region=region)
    if not (target.is_aws or allow_custom):
        return target
    credentials = chain_credentials(profile, required)
    return Target(url, region=region, credentials=credentials, name="AWS" if target.is_aws else "endpoint",
                  credentials_to_custom_endpoint=allow_custom)
