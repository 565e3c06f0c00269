"""HS256 JSON Web Tokens, signed as the official SDK signs public access tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from ._serialization import dumps_js

ISSUER = "https://id.trigger.dev"
AUDIENCE = "https://api.trigger.dev"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_hs256(claims: Mapping[str, Any], secret: str) -> str:
    """Sign ``claims`` (kept in their insertion order) with the UTF-8 bytes of ``secret``."""
    header = _b64url(b'{"alg":"HS256"}')
    # Claims are written as JSON.stringify writes them (1, not 1.0), as the official SDK signs.
    payload = _b64url(dumps_js(dict(claims)).encode())
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


_ADDITIONAL_KEY = re.compile(r"^tr_(dev|stg|prod|preview)_sk_[0-9a-zA-Z]{24}$")


def server_minting_kind(token: str) -> str | None:
    """``"additional API key"`` / ``"run token"`` when the server must mint, else ``None``."""
    if _ADDITIONAL_KEY.match(token):
        return "additional API key"
    if token.count(".") == 2:
        try:
            header, _ = decode_unverified(token)
        except (ValueError, UnicodeError):
            return None
        if header.get("typ") == "run+jwt":
            return "run token"
    return None
