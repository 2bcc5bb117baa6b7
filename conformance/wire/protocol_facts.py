"""Wire facts both the suite and the reference server rest on (PROTOCOL_NOTES §2, §3): one home."""

from __future__ import annotations

import enum
import re


class ProtocolName(enum.StrEnum):
    """The Smithy names of the protocols the suite and the reference server speak."""

    AWS_JSON_1_1 = "awsJson1_1"
    RPC_V2_CBOR = "rpcv2Cbor"


AWS_JSON_1_1_CONTENT_TYPE = "application/x-amz-json-1.1"
CBOR_CONTENT_TYPE = "application/cbor"
SMITHY_PROTOCOL_HEADER = "Smithy-Protocol"
RPC_V2_CBOR = "rpc-v2-cbor"  # the Smithy-Protocol value of rpcv2Cbor
RPC_V2_FORBIDDEN_HEADERS = ("X-Amz-Target", "X-Amzn-Target")
RPC_V2_PATH = re.compile(r"^/service/(?P<service>[^/?]+)/operation/(?P<operation>[^/?]+)$")


def rpcv2_path(service_name: str, operation: str) -> str:
    """`/service/{ServiceName}/operation/{Operation}` (botocore sends the target prefix as ServiceName)."""
    return f"/service/{service_name}/operation/{operation}"


def aws_namespace(service_name: str) -> str:
    """The Smithy namespace of an AWS service's shapes, from botocore's service name: `com.amazonaws.comprehend`."""
    return f"com.amazonaws.{service_name}"
