"""Large payloads go to object storage first, as the official SDK sends them (≥ 128 KiB)."""

from __future__ import annotations

import secrets
import uuid

import attrs
from yarl import URL

from .._base import CallScope, Resource, bare_headers, effective_options
from .._config import RequestOptions, RetryOptions, Timeout
from .._converter import parse
from .._serialization import encode_path_segment, utf8_bytes
from ..errors import TriggerError

__all__ = ["OFFLOAD_THRESHOLD", "offload"]

OFFLOAD_THRESHOLD = 131072
_ALPHABET = "123456789abcdefghijkmnopqrstuvwxyz"
_UPLOAD_RETRY = RetryOptions(
    max_attempts=5, factor=2, min_timeout=0.5, max_timeout=5.0, randomize=True, max_retry_after=60.0
)


@attrs.frozen
class _Presigned:
    presigned_url: str
    storage_path: str | None = None


def packet_filename(payload_type: str) -> str:
    extension = "json" if payload_type in ("application/json", "application/super+json") else "txt"
    random_id = "".join(secrets.choice(_ALPHABET) for _ in range(21))
    return f"trigger/packet_{random_id}/payload.{extension}"


async def offload(
    resource: Resource,
    scope: CallScope,
    data: str,
    payload_type: str,
    request_options: RequestOptions | None,
) -> str:
    """Upload a packet through a presigned URL; returns the storage path to send instead."""
    filename = packet_filename(payload_type)
    response = await resource._request(
        "PUT",
        f"/api/v2/packets/{encode_path_segment(filename, argument='packet')}",
        scope=scope,
        request_options=request_options,
    )
    presigned = parse(response, _Presigned)
    if not presigned.storage_path:
        raise TriggerError(
            "Packet upload presign response missing storagePath; ensure the server supports /api/v2/packets"
        )
    options = effective_options(scope, request_options)
    try:
        target = URL(presigned.presigned_url, encoded=True)
        if target.scheme not in ("http", "https") or not target.host or target.port is None:
            raise ValueError(target.scheme)
    except ValueError:
        # The URL is signed: never repeat it in the message.
        raise TriggerError("The server's presigned upload URL for a large payload is not usable") from None
    # The upload goes to object storage: no credentials, only the type and a request key.
    await scope.transport.send(
        "PUT",
        target,
        headers=bare_headers(payload_type, str(uuid.uuid4())),
        body=utf8_bytes(data),
        retry=_UPLOAD_RETRY,
        timeout=options.timeout or Timeout(),
    )
    return presigned.storage_path
