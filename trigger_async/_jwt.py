"""HS256 JSON Web Tokens, signed as the official SDK signs public access tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

ISSUER = "https://id.trigger.dev"
AUDIENCE = "https://api.trigger.dev"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_hs256(claims: Mapping[str, Any], secret: str) -> str:
    """Sign ``claims`` (kept in their insertion order) with the UTF-8 bytes of ``secret``."""
    header = _b64url(b'{"alg":"HS256"}')
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(header, claims)`` of a compact JWS without checking its signature."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWT")
    header = json.loads(_b64url_decode(parts[0]))
    claims = json.loads(_b64url_decode(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("JWT header and claims must be JSON objects")
    return header, claims


def verify_hs256(token: str, secret: str) -> dict[str, Any] | None:
    """Return the claims when the signature verifies with ``secret``, else ``None``."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        expected = hmac.new(secret.encode(), f"{header_b64}.{payload_b64}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(signature_b64)):
            return None
        return decode_unverified(token)[1]
    except (ValueError, UnicodeError):
        return None
