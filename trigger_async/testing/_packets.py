"""IO packets: how payloads, metadata and outputs are stored and how they read back."""

from __future__ import annotations

import json
from typing import Any

import attrs

from ._validation import MISSING

JSON_TYPE = "application/json"
SUPERJSON_TYPE = "application/super+json"
TEXT_TYPE = "text/plain"
STORE_TYPE = "application/store"

#: Packets this large (UTF-8 bytes) are offloaded to the object store by the server.
OFFLOAD_THRESHOLD = 524_288


def packet_extension(data_type: str) -> str:
    """The file extension the server gives an offloaded packet of this type."""
    return "json" if data_type in (JSON_TYPE, SUPERJSON_TYPE) else "txt"


def js_json(value: Any) -> str:
    """``JSON.stringify`` for decoded JSON values: compact, non-ASCII kept raw."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@attrs.frozen
class Packet:
    """A stored packet: ``data`` is the serialised text (``None`` when there is none)."""

    data: str | None
    data_type: str

    @property
    def size(self) -> int:
        """UTF-8 byte length of the serialised data."""
        return len(self.data.encode()) if self.data is not None else 0


def make_packet(value: Any, data_type: str | None) -> Packet:
    """Store a value as the server does for ``payload`` / ``metadata`` with its type field.

    ``application/json`` (the default) is serialised by the server itself; every other type
    must already be a string, and a non-string value of such a type is dropped.
    """
    kind = data_type or JSON_TYPE
    if value is MISSING:
        return Packet(None, kind)
    if kind == JSON_TYPE:
        return Packet(js_json(value), kind)
    if isinstance(value, str):
        return Packet(value, kind)
    return Packet(None, kind)


def metadata_packet(value: Any, data_type: str | None) -> Packet:
    """Metadata is JSON unless a ``metadataType`` is given *and* the value is a string."""
    if data_type and isinstance(value, str):
        return Packet(value, data_type)
    return Packet(js_json(value), JSON_TYPE)


def read_packet(packet: Packet | None) -> tuple[bool, Any]:
    """The plain-JSON value the run presenter returns: ``(present, value)``.

    Superjson packets are reduced to their ``json`` part; text stays a string. Offloaded
    (``application/store``) packets have no inline value.
    """
    if packet is None or packet.data is None:
        return False, None
    if packet.data_type == JSON_TYPE:
        try:
            return True, json.loads(packet.data)
        except ValueError:
            return False, None
    if packet.data_type == SUPERJSON_TYPE:
        try:
            envelope = json.loads(packet.data)
        except ValueError:
            return False, None
        if isinstance(envelope, dict):
            return "json" in envelope, envelope.get("json")
        return False, None
    if packet.data_type == STORE_TYPE:
        return False, None
    return True, packet.data
