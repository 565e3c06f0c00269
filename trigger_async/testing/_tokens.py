"""Public access tokens: the ones the server mints into response headers,
``POST /api/v1/auth/jwt/claims`` and ``POST /api/v1/auth/public-tokens``."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, Final

from aiohttp import web

from .._jwt import AUDIENCE, ISSUER, sign_hs256
from ._auth import Credential, authenticate, authenticate_legacy
from ._http import Call, Route, fail, json_response
from ._packets import js_json
from ._store import Environment
from ._validation import Array, Boolean, Number, Object, OneOf, String, validate

TOKEN_LIFETIME_S: Final = 3600
PUBLIC_TOKEN_DEFAULT_EXPIRY: Final = "15m"
PUBLIC_TOKEN_MAX_LIFETIME_S: Final = 30 * 24 * 3600

_RELATIVE_TIME: Final = re.compile(
    r"^(\+|-)? ?(\d+|\d+\.\d+) ?"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)"
    r"(?: (ago|from now))?$",
    re.IGNORECASE,
)
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def mint_token(env: Environment, scopes: Sequence[str], now_ms: int, *, header_claims: bool = True) -> dict[str, str]:
    """``x-trigger-jwt`` (+ ``x-trigger-jwt-claims``) for a response.

    The token is signed with the environment's root key (the parent's for a branch) and
    lives one hour.
    """
    now_s = now_ms // 1000
    claims: dict[str, Any] = {"sub": env.id, "pub": True, "scopes": list(scopes)}
    token = sign_hs256(
        {**claims, "iss": ISSUER, "aud": AUDIENCE, "exp": now_s + TOKEN_LIFETIME_S, "iat": now_s},
        env.signing_key,
    )
    headers = {"x-trigger-jwt": token}
    if header_claims:
        headers["x-trigger-jwt-claims"] = js_json(claims)
    return headers


def run_token_headers(env: Environment, run_id: str, now_ms: int) -> dict[str, str]:
    """The token headers of a trigger answer: read the run, write its input streams."""
    return mint_token(env, [f"read:runs:{run_id}", f"write:inputStreams:{run_id}"], now_ms)


def batch_token_headers(credential: Credential, batch_id: str, now_ms: int, *, browser: bool) -> dict[str, str]:
    """The token headers of a batch answer: read the batch (and write it, for browsers).

    The claims header carries only ``sub`` and ``pub``; the scopes are in the token.
    """
    scopes = [f"read:batch:{batch_id}"]
    if browser and credential.allows("batchTrigger", [("tasks", None)]):
        scopes.append(f"write:batch:{batch_id}")
    env = credential.env
    headers = mint_token(env, scopes, now_ms, header_claims=False)
    headers["x-trigger-jwt-claims"] = js_json({"sub": env.id, "pub": True})
    return headers


async def jwt_claims(call: Call) -> web.StreamResponse:
    """``POST /api/v1/auth/jwt/claims``: the claims the SDK signs its own tokens with."""
    credential = authenticate_legacy(call, "Invalid or Missing API key")
    return json_response({"sub": credential.env.id, "pub": True})


PUBLIC_TOKEN_BODY: Final = Object(
    {
        "scopes": Array(String(), min_length=1),
        "expirationTime": OneOf((String(), Number())).optional(),
        "oneTimeUse": Boolean().optional(),
        "realtime": Object({"skipColumns": Array(String()).optional()}).optional(),
    }
)


def expiration_timestamp(value: str | float, now_s: int) -> float | None:
    """``exp`` for an ``expirationTime``: a number is absolute, a string is relative to now."""
    if not isinstance(value, str):
        return value
    match = _RELATIVE_TIME.match(value)
    if not match or (match.group(4) and match.group(1)):
        return None
    unit = match.group(3).lower()
    seconds = _UNIT_SECONDS.get(unit[0], 365.25 * 86400)
    # Math.round: halves round up.
    relative = math.floor(float(match.group(2)) * seconds + 0.5)
    past = match.group(1) == "-" or (match.group(4) or "").lower() == "ago"
    return now_s - relative if past else now_s + relative


async def public_tokens(call: Call) -> web.StreamResponse:
    """``POST /api/v1/auth/public-tokens``: mint a token for an API key (no JWTs).

    Secret keys, root or additional, may mint any scopes in the emulator.
    """
    credential = authenticate(call, allow_jwt=False)
    try:
        data = json.loads(call.body_text())
    except ValueError:
        fail(400, "Invalid request body")
    parsed, issues = validate(PUBLIC_TOKEN_BODY, data)
    if issues:
        fail(400, "Invalid request body", issues=[issue.to_zod() for issue in issues])
    now_s = call.state.clock.now_ms() // 1000
    expires = expiration_timestamp(parsed.get("expirationTime", PUBLIC_TOKEN_DEFAULT_EXPIRY), now_s)
    if expires is None:
        fail(400, "Invalid expiration time")
    if expires <= now_s:
        fail(400, "Expiration time must be in the future")
    if expires - now_s > PUBLIC_TOKEN_MAX_LIFETIME_S:
        fail(400, "Expiration time cannot exceed 30 days")
    env = credential.env
    claims: dict[str, Any] = {"sub": env.id, "pub": True, "scopes": parsed["scopes"]}
    if parsed.get("oneTimeUse"):
        claims["otu"] = True
    if "realtime" in parsed:
        claims["realtime"] = parsed["realtime"]
    exp: float = int(expires) if float(expires).is_integer() else expires
    token = sign_hs256({**claims, "iss": ISSUER, "aud": AUDIENCE, "iat": now_s, "exp": exp}, env.signing_key)
    return json_response({"token": token})


ROUTES = [
    Route("/api/v1/auth/jwt/claims", action=jwt_claims, limiter=None),
    Route("/api/v1/auth/public-tokens", action=public_tokens),
]
