"""Reading payload/output packets that the server stored elsewhere (presigned URLs)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ._converter import parse_datetime

__all__ = ["parse_packet", "superjson_parse"]


def _revive(value: Any, tag: Any) -> Any:
    if tag == "Date":
        return parse_datetime(value)
    if tag == "bigint":
        return int(value)
    if tag == "set":
        return set(value) if all(not isinstance(v, (list, dict)) for v in value) else list(value)
    if tag == "number":
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}.get(value, value)
    if tag == "undefined":
        return None
    if tag == "map":
        try:
            return {k: v for k, v in value}
        except (TypeError, ValueError):
            return value
    return value


def _walk(value: Any, tree: Any) -> Any:
    # meta.values is either a tag list for this node (["Date"]) or a tree of children.
    if isinstance(tree, list):
        if tree and isinstance(tree[0], str):
            inner = _walk(value, tree[1]) if len(tree) > 1 else value
            return _revive(inner, tree[0])
        return value
    if isinstance(tree, Mapping):
        for key, subtree in tree.items():
            value = _apply_path(value, key.split("."), subtree)
    return value


def _apply_path(value: Any, path: list[str], tree: Any) -> Any:
    if not path:
        return _walk(value, tree)
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        index = int(head)
        value[index] = _apply_path(value[index], rest, tree)
    elif isinstance(value, dict) and head in value:
        value[head] = _apply_path(value[head], rest, tree)
    return value


def superjson_parse(text: str) -> Any:
    """Decode a superjson packet, reviving dates, big ints and sets."""
    envelope = json.loads(text)
    if not isinstance(envelope, dict) or "json" not in envelope:
        return envelope
    values = (envelope.get("meta") or {}).get("values")
    data = envelope["json"]
    return _walk(data, values) if values is not None else data


def parse_packet(content_type: str | None, raw: bytes) -> Any:
    """Parse a downloaded packet by its content type, as the official SDK does."""
    kind = (content_type or "application/json").split(";", 1)[0].strip().lower()
    text = raw.decode("utf-8")
    if kind == "application/super+json":
        return superjson_parse(text)
    if kind == "text/plain":
        return text
    return json.loads(text)
