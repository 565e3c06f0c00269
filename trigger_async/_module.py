"""Module-level namespaces (``trigger_async.tasks``...) for the one-project case.

Each call resolves its config when it starts: the innermost ``auth.with_auth`` scope, then
``configure()``, then the environment. The ambient task context is always visible here.
"""

from __future__ import annotations

from . import _idempotency
from ._base import CallScope
from ._context import configure, current_task_context, module_config, with_auth
from ._transport import Transport
from .resources.auth import AuthTokens
from .resources.batch import Batches
from .resources.deployments import Deployments
from .resources.envvars import EnvVars
from .resources.prompts import Prompts
from .resources.queues import Queues
from .resources.runs import Runs
from .resources.schedules import GlobalSchedules
from .resources.tasks import Tasks


class _GlobalBinding:
    """Binds module-level resources to the per-call config and a shared transport."""

    def __init__(self) -> None:
        self.transport = Transport()

    def _call_scope(self) -> CallScope:
        return CallScope(module_config(), current_task_context(), self.transport)

    def _ensure_open(self) -> None:
        """Module-level calls never close for good (``aclose()`` only drops the session)."""


_binding = _GlobalBinding()


class GlobalAuth(AuthTokens):
    """``trigger_async.auth``: token minting plus the credential scopes of module-level calls."""

    with_auth = staticmethod(with_auth)
    configure = staticmethod(configure)


class IdempotencyKeys:
    """``trigger_async.idempotency_keys``."""

    create = staticmethod(_idempotency.create)


tasks = Tasks(_binding)
runs = Runs(_binding)
batch = Batches(_binding)
schedules = GlobalSchedules(_binding)
envvars = EnvVars(_binding)
queues = Queues(_binding)
deployments = Deployments(_binding)
prompts = Prompts(_binding)
auth = GlobalAuth(_binding)
idempotency_keys = IdempotencyKeys()


async def aclose() -> None:
    """Close the connections module-level calls opened on the running event loop."""
    await _binding.transport.aclose(final=False)
