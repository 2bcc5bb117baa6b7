"""Reproductions and redaction: a curl command per failure, and no secret in any output."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

from conformance.target import DUMMY_CREDENTIALS, Target
from conformance.wire import HttpRequest

REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"authorization", "x-amz-security-token"})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with signatures and session tokens replaced."""
    return {name: REDACTED if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


def secrets_of(target: Target) -> list[str]:
    """Strings that must never appear in output: the target's secret key and session token."""
    creds = target.credentials
    if creds is None or creds is DUMMY_CREDENTIALS:
        return []
    return [value for value in (creds.secret_key, creds.token) if value]


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Text with every secret replaced."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _printf_literal(body: bytes) -> str:
    """The body as a `printf '%b'` argument: printable ASCII as is, other bytes as octal escapes."""
    out = []
    for byte in body:
        char = chr(byte)
        if char == "\\":
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\0{byte:03o}")
    return shlex.quote("".join(out))


def curl_command(request: HttpRequest, target: Target, signing_name: str) -> str:
    """A shell command that sends the same request (signed by curl itself, credentials from the environment)."""
    url = target.url.rstrip("/") + request.path
    parts = [f"printf '%b' {_printf_literal(request.body)} |", "curl -sS -i", "-X", request.method, shlex.quote(url)]
    for name, value in request.headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if target.credentials is not None:
        user = ('"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"' if target.credentials is not DUMMY_CREDENTIALS
                else shlex.quote(f"{DUMMY_CREDENTIALS.access_key}:{DUMMY_CREDENTIALS.secret_key}"))
        parts += ["--aws-sigv4", shlex.quote(f"aws:amz:{target.region}:{signing_name}"), "--user", user]
    parts += ["--data-binary", "@-"]
    return " ".join(parts)
