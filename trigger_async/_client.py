"""``AsyncTriggerClient``: one project's credentials, one connection pool, no global state."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import attrs

from ._base import CallScope
from ._config import (
    NOT_GIVEN,
    ClientConfig,
    NotGiven,
    RequestOptions,
    build_config,
    check_optional_str,
    check_token,
    normalize_base_url,
)
from ._context import current_task_context
from ._transport import CLOSED_MESSAGE, Transport
from .errors import ClientClosedError, InvalidArgumentError, InvalidArgumentTypeError
from .resources.auth import AuthTokens
from .resources.batch import Batches
from .resources.deployments import Deployments
from .resources.envvars import EnvVars
from .resources.prompts import Prompts
from .resources.queues import Queues
from .resources.runs import Runs
from .resources.schedules import Schedules
from .resources.tasks import Tasks

__all__ = ["AsyncTriggerClient"]


class AsyncTriggerClient:
    """An isolated client of the Trigger.dev management API.

    Arguments left out fall back to the environment **once, here**: the token to
    ``TRIGGER_SECRET_KEY`` then ``TRIGGER_ACCESS_TOKEN``, the branch to
    ``TRIGGER_PREVIEW_BRANCH`` then ``VERCEL_GIT_COMMIT_REF`` then ``TRIGGER_DEV_BRANCH``
    (a ``TRIGGER_DEV_BRANCH`` of ``default`` means none; ``preview_branch=""`` means none
    without looking), the base URL to ``TRIGGER_API_URL`` then ``https://api.trigger.dev``.
    Afterwards the client never reads the environment, ``configure()`` or ``with_auth``
    again; with ``inherit_context=True`` it reads the ambient :class:`TaskContext`.

    ``external_deployment_id`` is sent with every trigger (``externalDeploymentId``) unless
    the call names one. ``realtime_streams_version`` (``"v2"``, or ``"v1"`` when
    ``TRIGGER_V2_REALTIME_STREAMS`` is ``0``/``false``) is sent as
    ``x-trigger-realtime-streams-version``.

    Namespaces: ``tasks``, ``runs`` (and ``runs.bulk``), ``batch``, ``schedules``,
    ``envvars``, ``queues``, ``deployments``, ``prompts``, ``auth``.

    Use it as ``async with AsyncTriggerClient(...) as client:`` or call ``await
    client.aclose()``. It may be used from several event loops one after another.
    """

    tasks: Tasks
    runs: Runs
    batch: Batches
    schedules: Schedules
    envvars: EnvVars
    queues: Queues
    deployments: Deployments
    prompts: Prompts
    auth: AuthTokens

    def __init__(
        self,
        *,
        access_token: str | None = None,
        preview_branch: str | None = None,
        base_url: str | None = None,
        request_options: RequestOptions | None = None,
        inherit_context: bool = False,
        external_deployment_id: str | None = None,
        realtime_streams_version: str | None = None,
    ) -> None:
        config = build_config(
            access_token=access_token,
            preview_branch=preview_branch,
            base_url=base_url,
            request_options=request_options,
            inherit_context=inherit_context,
            external_deployment_id=external_deployment_id,
            realtime_streams_version=realtime_streams_version,
        )
        self._init(config, Transport(), owns_transport=True)

    def _init(self, config: ClientConfig, transport: Transport, *, owns_transport: bool) -> None:
        self._config = config
        self._transport = transport
        self._owns_transport = owns_transport
        self._closed = False
        self.tasks = Tasks(self)
        self.runs = Runs(self)
        self.batch = Batches(self)
        self.schedules = Schedules(self)
        self.envvars = EnvVars(self)
        self.queues = Queues(self)
        self.deployments = Deployments(self)
        self.prompts = Prompts(self)
        self.auth = AuthTokens(self)

    @property
    def config(self) -> ClientConfig:
        """The resolved configuration (frozen)."""
        return self._config

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called (on this client, or on the one it was copied from)."""
        return self._closed or self._transport.closed

    def __repr__(self) -> str:
        return (
            f"AsyncTriggerClient(base_url={self._config.base_url!r}, "
            f"preview_branch={self._config.preview_branch!r}, closed={self._closed})"
        )

    def _ensure_open(self) -> None:
        if self._closed or self._transport.closed:
            raise ClientClosedError(CLOSED_MESSAGE)

    def _call_scope(self) -> CallScope:
        self._ensure_open()
        task = current_task_context() if self._config.inherit_context else None
        return CallScope(self._config, task, self._transport)

    def with_options(
        self,
        *,
        access_token: str | NotGiven | None = NOT_GIVEN,
        preview_branch: str | NotGiven | None = NOT_GIVEN,
        base_url: str | NotGiven = NOT_GIVEN,
        request_options: RequestOptions | NotGiven | None = NOT_GIVEN,
        inherit_context: bool | NotGiven = NOT_GIVEN,
        external_deployment_id: str | NotGiven | None = NOT_GIVEN,
        realtime_streams_version: str | NotGiven = NOT_GIVEN,
    ) -> AsyncTriggerClient:
        """A new client with some fields changed; the environment is not read again.

        Request options merge field by field over this client's. The copy shares this
        client's connection pool: closing the copy leaves the pool open.
        """
        changes: dict[str, Any] = {}
        if not isinstance(access_token, NotGiven):
            check_token(access_token)
            changes["access_token"] = access_token
        if not isinstance(preview_branch, NotGiven):
            check_optional_str(preview_branch, "preview_branch")
            changes["preview_branch"] = preview_branch or None
        if not isinstance(base_url, NotGiven):
            changes["base_url"] = normalize_base_url(base_url)
        if not isinstance(request_options, NotGiven):
            if request_options is not None and not isinstance(request_options, RequestOptions):
                raise InvalidArgumentTypeError("request_options", "expected RequestOptions")
            changes["request_options"] = request_options.over(self._config.request_options) if request_options else None
        if not isinstance(inherit_context, NotGiven):
            if not isinstance(inherit_context, bool):
                raise InvalidArgumentTypeError("inherit_context", "expected bool")
            changes["inherit_context"] = inherit_context
        if not isinstance(external_deployment_id, NotGiven):
            check_optional_str(external_deployment_id, "external_deployment_id")
            changes["external_deployment_id"] = external_deployment_id
        if not isinstance(realtime_streams_version, NotGiven):
            if realtime_streams_version not in ("v1", "v2"):
                raise InvalidArgumentError("realtime_streams_version", "must be 'v1' or 'v2'")
            changes["realtime_streams_version"] = realtime_streams_version
        copy = object.__new__(AsyncTriggerClient)
        copy._init(attrs.evolve(self._config, **changes), self._transport, owns_transport=False)
        return copy

    async def aclose(self) -> None:
        """Close this client's connections. Later calls raise ``ClientClosedError``."""
        if self._closed:
            return
        self._closed = True
        if self._owns_transport:
            await self._transport.aclose()

    async def __aenter__(self) -> AsyncTriggerClient:
        if self._closed:
            raise ClientClosedError(CLOSED_MESSAGE)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
