"""Public access tokens: local signing (root keys) and server minting (additional keys).

Reference: wire-spec §2.10, §4.9; official SDK 4.8.3 (jose ``secs``/``validateInput``,
``ApiClient#selfSigningKey``).
"""

from __future__ import annotations

import pytest

from tests.recorder import Answer, Recorder
from trigger_async import (
    AsyncTriggerClient,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    RequestOptions,
    TriggerError,
)
from trigger_async._jwt import decode_unverified

ROOT = "tr_dev_surface_auth_root"
ADDITIONAL = "tr_dev_sk_" + "A1b2C3d4E5f6G7h8I9j0K1l2"
BAD = (InvalidArgumentError, InvalidArgumentTypeError)
SCOPES = {"read": {"runs": ["run_1"]}}


@pytest.mark.parametrize("expiration", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
async def test_non_finite_expiration_is_a_bad_argument(expiration: float) -> None:
    # int(nan) -> bare ValueError, int(inf) -> bare OverflowError (jose: TypeError "Invalid
    # setExpirationTime input"). The same happens for request_options.public_access_token.
    async with Recorder() as rec, AsyncTriggerClient(access_token=ROOT, base_url=rec.url) as client:
        with pytest.raises(BAD, match="expiration_time"):
            await client.auth.create_public_token(expiration_time=expiration)
        with pytest.raises(BAD, match="expiration_time"):
            await client.auth.create_trigger_public_token("t", expiration_time=expiration)
        options = RequestOptions(public_access_token={"expiration_time": expiration})
        with pytest.raises(BAD, match="expiration_time"):
            await client.tasks.trigger("t", {}, request_options=options)
    assert rec.seen == []


@pytest.mark.parametrize("expiration", ["not a duration", float("nan"), "+1h ago"], ids=["garbage", "nan", "sign+ago"])
async def test_additional_key_expiration_is_checked_before_sending(expiration: object) -> None:
    # The root-key path refuses "not a duration"; the additional-key path sends it to the
    # server as is (and NaN as "expirationTime":null).
    async with Recorder() as rec, AsyncTriggerClient(access_token=ADDITIONAL, base_url=rec.url) as client:
        rec.script("POST", "/api/v1/auth/public-tokens", Answer(200, {"token": "minted"}), repeat=True)
        with pytest.raises(BAD, match="expiration_time"):
            await client.auth.create_public_token(scopes=SCOPES, expiration_time=expiration)
    assert rec.seen == []


async def test_unserializable_realtime_is_a_bad_argument_before_any_request() -> None:
    # Root key: the claims call is sent, then json.dumps() raises a bare TypeError
    # ("Object of type set is not JSON serializable").
    async with Recorder() as rec, AsyncTriggerClient(access_token=ROOT, base_url=rec.url) as client:
        rec.script("POST", "/api/v1/auth/jwt/claims", Answer(200, {"sub": "env_1", "pub": True}), repeat=True)
        with pytest.raises(BAD, match="realtime"):
            await client.auth.create_public_token(realtime={"skipColumns": {"payload"}})
        with pytest.raises(BAD, match="realtime"):
            await client.auth.create_trigger_public_token("t", realtime={"skipColumns": {"payload"}})
    assert rec.seen == []


@pytest.mark.parametrize(("span", "seconds"), [("2.5s", 3), ("0.5s", 1), ("2.5 secs", 3)])
async def test_duration_rounds_like_jose(span: str, seconds: int) -> None:
    # jose: Math.round(value * unit) (half up); Python's round() is half-to-even.
    async with Recorder() as rec, AsyncTriggerClient(access_token=ROOT, base_url=rec.url) as client:
        rec.script("POST", "/api/v1/auth/jwt/claims", Answer(200, {"sub": "env_1"}))
        token = await client.auth.create_public_token(expiration_time=span)
    claims = decode_unverified(token)[1]
    assert claims["exp"] - claims["iat"] == seconds


@pytest.mark.parametrize("span", ["+1h ago", "-1h from now", "+2 days from now"])
async def test_duration_with_both_sign_and_suffix_is_refused(span: str) -> None:
    # jose: `if (!matched || (matched[4] && matched[1])) throw TypeError("Invalid time period
    # format")`. Only "-… ago" is refused today.
    async with Recorder() as rec, AsyncTriggerClient(access_token=ROOT, base_url=rec.url) as client:
        with pytest.raises(BAD, match="expiration_time"):
            await client.auth.create_public_token(expiration_time=span)
    assert rec.seen == []


@pytest.mark.parametrize("call", ["trigger", "batch"])
async def test_additional_key_never_self_signs_a_fallback_token(call: str) -> None:
    # Official (ApiClient#selfSigningKey): "This credential cannot self-sign public tokens,
    # and the server did not return one. ..." — "Throw rather than return a dead token."
    # Today a JWT signed with the additional key (which never verifies) is returned.
    async with Recorder() as rec, AsyncTriggerClient(access_token=ADDITIONAL, base_url=rec.url) as client:
        rec.script("POST", "/api/v3/batches", Answer(202, {"id": "batch_1", "runCount": 1, "isCached": False}))
        rec.script(
            "POST",
            "/api/v3/batches/batch_1/items",
            Answer(200, {"id": "batch_1", "itemsAccepted": 1, "itemsDeduplicated": 0, "sealed": True}),
        )
        with pytest.raises(TriggerError, match="cannot self-sign public tokens"):
            if call == "trigger":
                await client.tasks.trigger("t", {"n": 1})
            else:
                await client.batch.trigger([{"id": "t", "payload": 1}])
