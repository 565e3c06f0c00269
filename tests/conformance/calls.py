"""One mapping from an official-SDK call to the same call on ``AsyncTriggerClient``.

Used by the conformance suite and by the golden replay (``tests/test_golden.py``). The input
is the language-neutral form of the catalogue and the golden files: a TS namespace and method
name, TS positional arguments with encoding markers, a TS ``TriggerClient`` config. The
translation follows ``shared/design/api.md``: snake_case methods, positional arguments in TS
order, TS option objects as keyword-only snake_case arguments, ``request_options=
RequestOptions(...)``, nested wire-vocabulary objects (``debounce``, ``scopes``,
``realtime``, a bulk ``filter``) passed through as dicts with the TS key names.

``neutral()`` turns what our client returned (or raised) into the same neutral form the Node
driver writes for the official SDK, so outcomes can be compared.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from trigger_async import QueueRef, RequestOptions, RetryOptions, TaskRef
from trigger_async._pagination import CursorPage, OffsetPage
from trigger_async._serialization import UNDEFINED, js_iso

REQUEST_OPTION_KEYS = frozenset({"retry", "additionalHeaders"})
_SNAKE_SPECIAL = {"from": "from_", "idempotencyKeyTTL": "idempotency_key_ttl"}


# ------------------------------------------------------------------------------- values


def revive(value: Any) -> Any:
    """Encoding markers (golden/catalogue) → Python values."""
    if isinstance(value, list):
        return [revive(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key == "$date":
            return datetime.fromisoformat(inner.replace("Z", "+00:00"))
        if key == "$bigint":
            return int(inner)
        if key == "$set":
            return {revive(item) for item in inner}
        if key == "$map":
            # Python has no Map type: a dict is the closest value (a documented difference).
            return {revive(k): revive(v) for k, v in inner}
        if key == "$undefined":
            return UNDEFINED
        if key == "$repeat":
            return inner["char"] * inner["count"]
        if key == "$async_iterable":
            return _async_iterable([revive(item) for item in inner])
    return {key: revive(item) for key, item in value.items()}


async def _async_iterable(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def snake(name: str) -> str:
    if name in _SNAKE_SPECIAL:
        return _SNAKE_SPECIAL[name]
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def kwargs_of(options: Mapping[str, Any] | None, *, drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A TS options object as Python keyword arguments (values keep TS key names inside)."""
    return {snake(key): revive(value) for key, value in (options or {}).items() if key not in drop}


def looks_like_request_options(value: Any) -> bool:
    """The official SDK's sniffing: a non-empty object whose keys are all request-option keys."""
    return isinstance(value, dict) and bool(value) and set(value) <= REQUEST_OPTION_KEYS


def retry_options_of(retry: Mapping[str, Any] | None) -> RetryOptions | None:
    if retry is None:
        return None
    return RetryOptions(
        max_attempts=retry.get("maxAttempts"),
        factor=retry.get("factor"),
        min_timeout=retry["minTimeoutInMs"] / 1000 if "minTimeoutInMs" in retry else None,
        max_timeout=retry["maxTimeoutInMs"] / 1000 if "maxTimeoutInMs" in retry else None,
        randomize=retry.get("randomize"),
    )


def request_options_of(value: Mapping[str, Any] | None) -> RequestOptions | None:
    if not value:
        return None
    token = value.get("publicAccessToken")
    return RequestOptions(
        retry=retry_options_of(value.get("retry")),
        additional_headers=value.get("additionalHeaders"),
        public_access_token={"expiration_time": revive(token["expirationTime"])} if token else None,
    )


def client_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """A TS ``TriggerClient`` config (URLs already filled in) → ``AsyncTriggerClient`` kwargs."""
    kwargs: dict[str, Any] = {}
    for key, value in config.items():
        if key == "baseURL":
            kwargs["base_url"] = value
        elif key in ("accessToken", "secretKey"):
            if key == "accessToken" or "accessToken" not in config:
                kwargs["access_token"] = value
        elif key == "requestOptions":
            kwargs["request_options"] = request_options_of(value)
        elif key == "future":
            if value.get("v2RealtimeStreams") is False:
                kwargs["realtime_streams_version"] = "v1"
        else:
            kwargs[snake(key)] = value
    return kwargs


def _arg(args: list[Any], index: int) -> Any:
    return args[index] if len(args) > index else None


def _run_ref(value: Any) -> Any:
    """A run id, or ``{id}`` → an object with an ``id`` (the TS handle form)."""
    if isinstance(value, dict):
        return type("Handle", (), {"id": value["id"]})()
    return value


def _queue(value: Any) -> Any:
    if isinstance(value, dict):
        return QueueRef(type=value["type"], name=value["name"])
    return value


def _task(value: Any) -> Any:
    if isinstance(value, dict):
        return TaskRef(value["id"])
    if isinstance(value, list):
        return [_task(item) for item in value]
    return value


def _items(items: Any, task_key: str | None) -> Any:
    """TS batch items → Python item dicts (trigger option names in snake_case)."""

    def one(item: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "payload" in item:
            out["payload"] = revive(item["payload"])
        if item.get("options") is not None:
            out["options"] = kwargs_of(item["options"])
        if task_key == "id":
            out["id"] = item["id"]
        elif task_key == "task":
            out["task"] = _task(item["task"])
        return out

    if isinstance(items, dict) and set(items) == {"$async_iterable"}:
        return _async_iterable([one(item) for item in items["$async_iterable"]])
    return [one(item) for item in items]


# ---------------------------------------------------------------------------- the mapping

# Batch options the official SDK accepts and ignores; Python has no parameter for them.
_IGNORED_BATCH_OPTIONS = frozenset({"triggerSequentially"})


def call(client: Any, namespace: str, method: str, args: list[Any]) -> Any:
    """Start the Python call of ``client.<namespace>.<method>(*args)`` (TS names and args).

    Returns what our method returns: a coroutine, or a pager for list methods.
    """
    a = list(args)
    ns = namespace
    if ns == "tasks" and method == "trigger":
        payload = revive(a[1]) if len(a) > 1 else UNDEFINED
        return client.tasks.trigger(
            a[0], payload, **kwargs_of(_arg(a, 2)), request_options=request_options_of(_arg(a, 3))
        )
    if ns == "tasks" and method == "batchTrigger":
        return client.tasks.batch_trigger(
            _task(a[0]),
            _items(a[1], None),
            **kwargs_of(_arg(a, 2), drop=_IGNORED_BATCH_OPTIONS),
            request_options=request_options_of(_arg(a, 3)),
        )
    if ns == "batch" and method in ("trigger", "triggerByTask"):
        target = client.batch.trigger if method == "trigger" else client.batch.trigger_by_task
        return target(
            _items(a[0], "id" if method == "trigger" else "task"),
            **kwargs_of(_arg(a, 1), drop=_IGNORED_BATCH_OPTIONS),
            request_options=request_options_of(_arg(a, 2)),
        )
    if ns == "batch" and method == "retrieve":
        return client.batch.retrieve(a[0], request_options=request_options_of(_arg(a, 1)))
    if ns == "runs":
        return _runs(client.runs, method, a)
    if ns == "runs.bulk":
        return _bulk(client.runs.bulk, method, a)
    if ns == "schedules":
        return _schedules(client.schedules, method, a)
    if ns == "envvars":
        return _envvars(client.envvars, method, a)
    if ns == "queues":
        return _queues(client.queues, method, a)
    if ns == "deployments":
        if method == "retrieveCurrent":
            return client.deployments.retrieve_current(request_options=request_options_of(_arg(a, 0)))
        if method == "list":
            if looks_like_request_options(_arg(a, 0)):
                return client.deployments.list(request_options=request_options_of(a[0]))
            return client.deployments.list(**kwargs_of(_arg(a, 0)), request_options=request_options_of(_arg(a, 1)))
    if ns == "prompts":
        return _prompts(client.prompts, method, a)
    if ns == "auth":
        return _auth(client.auth, method, a)
    raise AssertionError(f"no Python call mapped for {namespace}.{method}")


def _runs(runs: Any, method: str, a: list[Any]) -> Any:
    if method == "list":
        rest = list(a)
        project = rest.pop(0) if rest and isinstance(rest[0], str) else None
        # Only the argument after a project ref is sniffed for request options.
        sniff = project is not None and rest and looks_like_request_options(rest[0])
        params = rest.pop(0) if rest and not sniff else None
        options = request_options_of(rest[0]) if rest else None
        return runs.list(*([project] if project is not None else []), **kwargs_of(params), request_options=options)
    if method in ("retrieve", "cancel"):
        return getattr(runs, method)(_run_ref(a[0]), request_options=request_options_of(_arg(a, 1)))
    if method == "replay":
        body = _arg(a, 1)
        if looks_like_request_options(body):
            return runs.replay(a[0], request_options=request_options_of(body))
        return runs.replay(a[0], **kwargs_of(body), request_options=request_options_of(_arg(a, 2)))
    if method == "reschedule":
        return runs.reschedule(a[0], **kwargs_of(a[1]), request_options=request_options_of(_arg(a, 2)))
    if method == "poll":
        return runs.poll(_run_ref(a[0]), **kwargs_of(_arg(a, 1)), request_options=request_options_of(_arg(a, 2)))
    if method == "subscribeToRun":
        return runs.subscribe_to_run(_run_ref(a[0]), **kwargs_of(_arg(a, 1)))
    if method == "subscribeToRunsWithTag":
        return runs.subscribe_to_runs_with_tag(a[0], **kwargs_of(_arg(a, 1)))
    if method == "subscribeToBatch":
        return runs.subscribe_to_batch(a[0])
    if method == "fetchStream":
        return runs.fetch_stream(a[0], a[1], request_options=request_options_of(_arg(a, 2)))
    raise AssertionError(f"no Python call mapped for runs.{method}")


def _bulk(bulk: Any, method: str, a: list[Any]) -> Any:
    if method in ("cancel", "replay"):
        options = dict(a[0])
        kwargs: dict[str, Any] = {}
        if "filter" in options:
            kwargs["filter"] = revive(options.pop("filter"))
        if "runIds" in options:
            kwargs["run_ids"] = options.pop("runIds")
        kwargs.update(kwargs_of(options))
        return getattr(bulk, method)(**kwargs, request_options=request_options_of(_arg(a, 1)))
    if method in ("retrieve", "abort"):
        return getattr(bulk, method)(a[0], request_options=request_options_of(_arg(a, 1)))
    if method == "list":
        return bulk.list(**kwargs_of(_arg(a, 0)), request_options=request_options_of(_arg(a, 1)))
    if method == "poll":
        return bulk.poll(a[0], **kwargs_of(_arg(a, 1)), request_options=request_options_of(_arg(a, 2)))
    raise AssertionError(f"no Python call mapped for runs.bulk.{method}")


def _schedules(schedules: Any, method: str, a: list[Any]) -> Any:
    if method == "create":
        return schedules.create(**kwargs_of(a[0]), request_options=request_options_of(_arg(a, 1)))
    if method == "update":
        return schedules.update(a[0], **kwargs_of(a[1]), request_options=request_options_of(_arg(a, 2)))
    if method in ("retrieve", "del", "activate", "deactivate"):
        name = "delete" if method == "del" else method
        return getattr(schedules, name)(a[0], request_options=request_options_of(_arg(a, 1)))
    if method == "list":
        return schedules.list(**kwargs_of(_arg(a, 0)), request_options=request_options_of(_arg(a, 1)))
    raise AssertionError(f"no Python call mapped for schedules.{method}")


def _envvars(envvars: Any, method: str, a: list[Any]) -> Any:
    # Explicit forms: (ref, env[, name][, body][, requestOptions]); short forms drop ref/env.
    strings = []
    rest = list(a)
    while rest and isinstance(rest[0], str):
        strings.append(rest.pop(0))
    if method == "list":
        return envvars.list(*strings, request_options=request_options_of(_arg(rest, 0)))
    if method in ("create", "upload"):
        return getattr(envvars, method)(
            *strings, **kwargs_of(_arg(rest, 0)), request_options=request_options_of(_arg(rest, 1))
        )
    if method in ("retrieve", "del"):
        name = "delete" if method == "del" else method
        return getattr(envvars, name)(*strings, request_options=request_options_of(_arg(rest, 0)))
    if method == "update":
        return envvars.update(*strings, **kwargs_of(_arg(rest, 0)), request_options=request_options_of(_arg(rest, 1)))
    raise AssertionError(f"no Python call mapped for envvars.{method}")


def _queues(queues: Any, method: str, a: list[Any]) -> Any:
    if method == "list":
        if looks_like_request_options(_arg(a, 0)):
            return queues.list(request_options=request_options_of(a[0]))
        return queues.list(**kwargs_of(_arg(a, 0)), request_options=request_options_of(_arg(a, 1)))
    if method == "overrideConcurrencyLimit":
        return queues.override_concurrency_limit(_queue(a[0]), a[1], request_options=request_options_of(_arg(a, 2)))
    if method in ("retrieve", "pause", "resume", "resetConcurrencyLimit"):
        return getattr(queues, snake(method))(_queue(a[0]), request_options=request_options_of(_arg(a, 1)))
    raise AssertionError(f"no Python call mapped for queues.{method}")


def _prompts(prompts: Any, method: str, a: list[Any]) -> Any:
    if method == "list":
        return prompts.list(request_options=request_options_of(_arg(a, 0)))
    if method in ("versions", "removeOverride"):
        return getattr(prompts, snake(method))(a[0], request_options=request_options_of(_arg(a, 1)))
    if method == "resolve":
        variables = revive(a[1]) if len(a) > 1 and a[1] is not None else None
        return prompts.resolve(a[0], variables, **kwargs_of(_arg(a, 2)), request_options=request_options_of(_arg(a, 3)))
    if method in ("promote", "reactivateOverride"):
        return getattr(prompts, snake(method))(a[0], a[1], request_options=request_options_of(_arg(a, 2)))
    if method in ("createOverride", "updateOverride"):
        return getattr(prompts, snake(method))(a[0], **kwargs_of(a[1]), request_options=request_options_of(_arg(a, 2)))
    raise AssertionError(f"no Python call mapped for prompts.{method}")


def _auth(auth: Any, method: str, a: list[Any]) -> Any:
    if method == "createPublicToken":
        return auth.create_public_token(**kwargs_of(_arg(a, 0)), request_options=request_options_of(_arg(a, 1)))
    if method in ("createTriggerPublicToken", "createBatchTriggerPublicToken"):
        return getattr(auth, snake(method))(
            _task(a[0]), **kwargs_of(_arg(a, 1)), request_options=request_options_of(_arg(a, 2))
        )
    raise AssertionError(f"no Python call mapped for auth.{method}")


async def consume(returned: Any, mode: str | None) -> Any:
    """Consume a call's return value the way the driver consumes the official SDK's."""
    mode = mode or "await"
    if mode == "await":
        return await returned
    if mode in ("async_iterate", "read_stream"):
        return [item async for item in returned]
    if mode == "async_iterate_first":
        async for item in returned:
            return [item]
        return []
    if mode in ("next_page", "previous_page"):
        page = await returned
        other = await (page.get_next_page() if mode == "next_page" else page.get_previous_page())
        return [page, other]
    raise AssertionError(f"unknown consume mode {mode}")


# ------------------------------------------------------------------------------- outcomes


def neutral(value: Any) -> Any:
    """Our result in the driver's neutral form (attrs fields camelCased, markers for values)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if value is UNDEFINED:
        return {"$undefined": True}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return {"$date": js_iso(value, argument="result")}
    if isinstance(value, CursorPage):
        return {
            "$class": "CursorPage",
            "data": neutral(value.data),
            "pagination": {"next": value.next_cursor, "previous": value.previous_cursor},
        }
    if isinstance(value, OffsetPage):
        return {
            "$class": "OffsetLimitPage",
            "data": neutral(value.data),
            "pagination": {"currentPage": value.current_page, "totalPages": value.total_pages, "count": value.count},
        }
    if isinstance(value, (set, frozenset)):
        return {"$set": [neutral(item) for item in value]}
    if isinstance(value, (list, tuple)):
        return [neutral(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): neutral(item) for key, item in value.items()}
    if attrs.has(type(value)):
        out = {"$class": type(value).__name__}
        for field in attrs.fields(type(value)):
            if field.name.startswith("_") or field.name == "output_type":
                continue
            out[camel(field.name)] = neutral(getattr(value, field.name))
        return out
    return {"$repr": repr(value)}


def neutral_error(error: BaseException, depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"class": type(error).__name__, "message": str(error)}
    for name in ("status", "phase", "batch_id", "item_count", "is_rate_limited", "code", "param"):
        value = getattr(error, name, None)
        if value is not None and not callable(value):
            out[camel(name)] = value
    body = getattr(error, "body", None)
    if body is not None:
        out["body"] = body
    cause = error.__cause__ or getattr(error, "cause", None)
    if isinstance(cause, BaseException) and depth < 3:
        out["cause"] = neutral_error(cause, depth + 1)
    return out
