"""Public access tokens the server mints, and ``POST /api/v1/auth/jwt/claims``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from .._jwt import AUDIENCE, ISSUER, sign_hs256
from ._auth import authenticate_legacy
from ._http import Call, Route, json_response
from ._packets import js_json
from ._store import Environment

TOKEN_LIFETIME_S = 3600


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


async def jwt_claims(call: Call) -> web.StreamResponse:
    """``POST /api/v1/auth/jwt/claims``: the claims the SDK signs its own tokens with."""
    credential = authenticate_legacy(call, "Invalid or Missing API key")
    return json_response({"sub": credential.env.id, "pub": True})


ROUTES = [Route("/api/v1/auth/jwt/claims", action=jwt_claims, limiter=None)]
