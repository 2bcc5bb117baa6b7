"""Reproductions: a curl command per failure that signs with the user's own credentials, never with ours."""

from __future__ import annotations

import shlex

from conformance.cases import Signing
from conformance.model.operations import ServiceMeta
from conformance.targets.target import Target
from conformance.wire.credentials import DUMMY_CREDENTIALS
from conformance.wire.http import HttpRequest

# Each byte's spelling in a `printf '%b'` argument: printable ASCII as is (a backslash doubled), others octal escapes.
_PRINTF_SPELLING = {byte: "\\\\" if byte == 0x5C else chr(byte) if 0x20 <= byte < 0x7F else f"\\0{byte:03o}"
                    for byte in range(256)}


def _printf_literal(body: bytes) -> str:
    """The body as a `printf '%b'` argument: printable ASCII as is, other bytes as octal escapes."""
    return shlex.quote(body.decode("latin-1").translate(_PRINTF_SPELLING))


def curl_command(request: HttpRequest, target: Target, service: ServiceMeta, signing: str = Signing.SIGV4) -> str:
    """A shell command that sends the same request (signed by curl itself, credentials from the environment).

    An authentication case (any signing but SigV4's own) is reproduced unsigned: curl cannot sign wrongly, at
    another time or for another scope, nor change a request once signed.
    """
    url = target.endpoint(service.name).rstrip("/") + request.path
    parts = [f"printf '%b' {_printf_literal(request.body)} |", "curl -sS -i", "-X", request.method, shlex.quote(url)]
    for name, value in request.headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if target.credentials is not None and signing == Signing.SIGV4:
        real = target.credentials is not DUMMY_CREDENTIALS
        user = ('"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"' if real
                else shlex.quote(f"{DUMMY_CREDENTIALS.access_key}:{DUMMY_CREDENTIALS.secret_key}"))
        parts += ["--aws-sigv4", shlex.quote(f"aws:amz:{target.region}:{service.signing_name}"), "--user", user]
        if real and target.credentials.token:
            parts += ["-H", '"X-Amz-Security-Token: $AWS_SESSION_TOKEN"']
    parts += ["--data-binary", "@-"]
    return " ".join(parts)
