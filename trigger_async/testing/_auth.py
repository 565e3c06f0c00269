"""Credentials: secret keys, branch environments, public access tokens and scopes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from .._jwt import AUDIENCE, ISSUER, decode_unverified, verify_hs256
from ._http import Call, fail
from ._store import Environment, Store

#: Every key of this shape is accepted; each distinct key is its own environment.
KEY_PATTERN: Final = re.compile(r"^tr_(dev|stg|prod|preview)_[A-Za-z0-9_]+$")
PAT_PATTERN: Final = re.compile(r"^tr_pat_[A-Za-z0-9]+$")

BRANCH_REQUIRED: Final = "x-trigger-branch header required for preview env"

_BRANCH_PREFIXES: Final = (
    "refs/heads/",
    "refs/remotes/",
    "refs/tags/",
    "refs/pull/",
    "refs/merge/",
    "refs/release/",
)

# (resource type, resource id or None for the whole collection)
Resource = tuple[str, str | None]


@attrs.frozen
class Credential:
    """Who is calling: the environment and, for public access tokens, their scopes."""

    env: Environment
    token: str
    is_public_token: bool = False
    scopes: tuple[str, ...] = ()
    one_time_use: bool = False
    # A public token's ``realtime.skipColumns`` claim; it replaces a shape's ``skipColumns``.
    realtime_skip_columns: tuple[str, ...] | None = None

    def allows(self, action: str, resources: Iterable[Resource]) -> bool:
        """Whether any of ``resources`` may be acted on (secret keys may do everything)."""
        if not self.is_public_token:
            return True
        return any(scope_grants(scope, action, kind, ident) for scope in self.scopes for kind, ident in resources)

    @property
    def token_hash(self) -> str:
        """SHA-256 hex of the bearer token (one-time-use bookkeeping)."""
        return hashlib.sha256(self.token.encode()).hexdigest()


def scope_grants(scope: str, action: str, kind: str, ident: str | None) -> bool:
    """The scope grammar ``action:type[:id]`` with ``admin``, ``*`` and ``all`` wildcards."""
    if scope == "admin":
        return True
    parts = scope.split(":", 2)
    if len(parts) < 2:
        return False
    scope_action, scope_kind = parts[0], parts[1]
    scope_id = parts[2] if len(parts) == 3 else None
    if scope_action not in (action, "*"):
        return False
    if scope_kind not in (kind, "all"):
        return False
    if scope_id is None:
        return True
    return ident is not None and scope_id == ident


def bearer_token(call: Call) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (``None`` when missing or empty)."""
    header = call.header("authorization")
    if header is None:
        return None
    token = header[7:] if header.startswith("Bearer ") else header
    return token.strip() or None


def public_token_claims(token: str) -> dict[str, Any] | None:
    """The claims when ``token`` is a public access token (payload has ``pub: true``)."""
    if token.count(".") != 2:
        return None
    try:
        _, claims = decode_unverified(token)
    except (ValueError, UnicodeError):
        return None
    return claims if claims.get("pub") is True else None


def sanitize_branch(value: str | None) -> str | None:
    """Branch name from ``x-trigger-branch``: git ref prefixes stripped, empty means none."""
    if value is None:
        return None
    branch = value.strip()
    for prefix in _BRANCH_PREFIXES:
        if branch.startswith(prefix):
            branch = branch[len(prefix) :]
            break
    else:
        if branch.startswith("refs/"):
            return None
    return branch or None


def environment_for_key(store: Store, key: str, branch_header: str | None) -> Environment | str:
    """The environment a secret key + branch header select, or the 401 message."""
    root = store.env_for_key(key)
    assert root is not None
    branch = sanitize_branch(branch_header)
    if root.type == "PREVIEW":
        if branch is None:
            return BRANCH_REQUIRED
        env = store.branch_env(root, branch)
    elif root.type == "DEVELOPMENT" and branch is not None and branch != "default":
        env = store.branch_env(root, branch)
    else:
        env = root
    assert env is not None
    return env


def authenticate(call: Call, *, allow_jwt: bool) -> Credential:
    """Builder-route authentication with the real server's exact 401 messages."""
    token = bearer_token(call)
    if token is None:
        fail(401, "Invalid or Missing API key")
    claims = public_token_claims(token)
    if claims is not None:
        if not allow_jwt:
            fail(401, "Invalid API key")
        return _public_token_credential(call, token, claims)
    if not KEY_PATTERN.match(token):
        fail(401, "Invalid API key")
    env = environment_for_key(call.state.store, token, call.header("x-trigger-branch"))
    if isinstance(env, str):
        fail(401, env)
    return Credential(env, token)


def authenticate_legacy(call: Call, message: str) -> Credential:
    """Legacy-route authentication: secret keys only, every failure is ``message``."""
    token = bearer_token(call)
    if token is None or not KEY_PATTERN.match(token):
        fail(401, message)
    env = environment_for_key(call.state.store, token, call.header("x-trigger-branch"))
    if isinstance(env, str):
        fail(401, message)
    return Credential(env, token)


def _public_token_credential(call: Call, token: str, claims: dict[str, Any]) -> Credential:
    subject = claims.get("sub")
    env = call.state.store.env_by_id(subject) if isinstance(subject, str) else None
    if env is None:
        fail(401, "Invalid Public Access Token")
    verified = verify_hs256(token, env.signing_key)
    now_s = call.state.clock.now_ms() / 1000
    try:
        header, _ = decode_unverified(token)
    except (ValueError, UnicodeError):
        header = {}
    audience = claims.get("aud")
    expires = claims.get("exp")
    if (
        verified is None
        or header.get("alg") != "HS256"
        or claims.get("iss") != ISSUER
        or not (audience == AUDIENCE or (isinstance(audience, list) and AUDIENCE in audience))
        or isinstance(expires, bool)
        or not isinstance(expires, (int, float))
        or expires <= now_s
    ):
        fail(401, "Public Access Token is invalid")
    raw_scopes = claims.get("scopes")
    scopes: Sequence[Any] = raw_scopes if isinstance(raw_scopes, list) else ()
    realtime = claims.get("realtime")
    raw_skip = realtime.get("skipColumns") if isinstance(realtime, dict) else None
    return Credential(
        env,
        token,
        is_public_token=True,
        scopes=tuple(s for s in scopes if isinstance(s, str)),
        one_time_use=claims.get("otu") is True,
        realtime_skip_columns=tuple(c for c in raw_skip if isinstance(c, str)) if isinstance(raw_skip, list) else None,
    )


def limiter_bucket(store: Store, authorization: str) -> tuple[str, bool]:
    """The rate-limit bucket of an ``Authorization`` value and whether it is a public token.

    Keys that resolve share their environment's bucket; anything else is bucketed by a hash
    of the header, as the real middleware does.
    """
    token = authorization[7:] if authorization.startswith("Bearer ") else authorization
    token = token.strip()
    if KEY_PATTERN.match(token):
        return "env:" + store.root_env_id(token), False
    digest = hashlib.sha256(authorization.encode()).hexdigest()
    return "hash:" + digest, public_token_claims(token) is not None
