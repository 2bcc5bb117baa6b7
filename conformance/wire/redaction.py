"""No secret in any output: signatures, session tokens and secret keys replaced before anything is shown."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

from botocore.credentials import Credentials

from conformance.wire.credentials import DUMMY_CREDENTIALS

REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"authorization", "x-amz-security-token"})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with signatures and session tokens replaced."""
    return {name: REDACTED if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


def secrets_of(creds: Credentials | None) -> list[str]:
    """Strings that must never appear in output: the secret key and session token of a target's credentials."""
    if creds is None or creds is DUMMY_CREDENTIALS:
        return []
    return [value for value in (creds.secret_key, creds.token) if value]


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Text with every secret replaced."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that replaces secrets in every record it passes (botocore's debug log shows session tokens)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message in place; never drop a record."""
        if self.secrets:
            record.msg = redact_text(record.getMessage(), self.secrets)
            record.args = None
        return True


_TOKEN_LINE = re.compile(r"(?im)^(x-amz-security-token:).*$")


class SigningLogFilter(logging.Filter):
    """For botocore's signer's own logger: its debug records show each signature and the session token."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the signature and the token line of the canonical request; never drop a record."""
        message = record.getMessage()
        if message.startswith("Signature:"):
            message = f"Signature:\n{REDACTED}"
        record.msg, record.args = _TOKEN_LINE.sub(rf"\g<1>{REDACTED}", message), None
        return True


def guard_signing_log() -> None:
    """Install SigningLogFilter on botocore's signer logger, once: it then holds for every handler, ours or not."""
    logger = logging.getLogger("botocore.auth")
    if not any(isinstance(f, SigningLogFilter) for f in logger.filters):
        logger.addFilter(SigningLogFilter())
