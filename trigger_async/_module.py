"""Module-level namespaces (``trigger_async.tasks``...) for the one-project case.

Each call resolves its config when it starts: the innermost ``auth.with_auth`` scope, then
``configure()``, then the environment. The ambient task context is always visible here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import CallScope
from ._context import _Overrides, _Scope, current_task_context, module_config, with_auth
from ._transport import Transport
from .resources.runs import Runs
from .resources.tasks import Tasks


class _GlobalBinding:
    """Binds module-level resources to the per-call config and a shared transport."""

    def __init__(self) -> None:
        self.transport = Transport()

    def _call_scope(self) -> CallScope:
        return CallScope(module_config(), current_task_context(), self.transport)


_binding = _GlobalBinding()


class AuthNamespace:
    """``trigger_async.auth``: credential scopes for module-level calls."""

    def with_auth(
        self, config: Mapping[str, Any] | None = None, /, **fields: Any
    ) -> _Scope[_Overrides | None]:
        """Scope module-level calls to other credentials (``with`` / ``async with``)."""
        return with_auth(config, **fields)


tasks = Tasks(_binding)
runs = Runs(_binding)
auth = AuthNamespace()


async def aclose() -> None:
    """Close the connections module-level calls opened on the running event loop."""
    await _binding.transport.aclose()
