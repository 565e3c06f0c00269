"""In-memory state of the emulator: project, environments, runs and their indexes.

Everything here runs on the emulator's event loop thread; nothing is locked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from typing import Any, Final

import attrs

from ._packets import Packet
from ._statuses import FINAL_STATUSES, UNSTARTED_STATUSES
from ._timeutil import Clock, parse_duration_ms

PROJECT_REF: Final = "proj_emulator"

# key prefix -> (environment type, slug)
ENV_KINDS: Final = {
    "dev": ("DEVELOPMENT", "dev"),
    "stg": ("STAGING", "staging"),
    "prod": ("PRODUCTION", "prod"),
    "preview": ("PREVIEW", "preview"),
}

_BASE32HEX: Final = "0123456789abcdefghijklmnopqrstuv"
_BASE36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


def _encode(number: int, alphabet: str, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, len(alphabet))
        chars.append(alphabet[digit])
    return "".join(reversed(chars))


def cuid_like(seed: str) -> str:
    """A stable 25-character cuid-shaped id derived from ``seed``."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    return "cm" + _encode(digest, _BASE36, 23)


@attrs.define(eq=False)
class Environment:
    """One runtime environment: a key's root environment or one of its branches."""

    id: str
    type: str
    slug: str
    api_key: str
    parent: Environment | None = None
    branch_name: str | None = None

    @property
    def root(self) -> Environment:
        """The environment that owns the API key (itself unless a branch)."""
        return self.parent if self.parent is not None else self

    @property
    def signing_key(self) -> str:
        """Public access tokens of branch environments are signed with the parent's key."""
        return self.root.api_key


@attrs.define(eq=False)
class Run:
    """A task run, holding the internal state the presenters derive API answers from."""

    id: str
    env: Environment
    task_identifier: str
    status: str
    created_at: int
    updated_at: int
    payload: Packet
    queue: str
    is_test: bool = False
    tags: list[str] = attrs.field(factory=list)
    seed_metadata: Packet | None = None
    metadata: Packet | None = None
    context: Any = None
    idempotency_key: str | None = None
    idempotency_key_user: str | None = None
    idempotency_key_scope: str | None = None
    idempotency_key_expires_at: int | None = None
    version: str | None = None
    delay_until: int | None = None
    queued_at: int | None = None
    ttl: str | None = None
    expired_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    output: Packet | None = None
    error: dict[str, Any] | None = None
    attempt_count: int = 0
    depth: int = 0
    parent_id: str | None = None
    root_id: str | None = None
    resume_parent_on_completion: bool = False
    batch_id: str | None = None
    concurrency_key: str | None = None
    machine: str | None = None
    max_attempts: int | None = None
    max_duration: int | None = None
    priority_ms: int | None = None
    region: str | None = None
    bulk_action_id: str | None = None
    schedule_id: str | None = None
    trigger_source: str = "api"
    trigger_version: str | None = None
    replayed_from: str | None = None
    one_time_use_token: str | None = None

    @property
    def is_final(self) -> bool:
        """Whether the run reached a final status."""
        return self.status in FINAL_STATUSES

    @property
    def ttl_ms(self) -> int | None:
        """The TTL as milliseconds, when it is a duration the engine understands."""
        return parse_duration_ms(self.ttl) if self.ttl else None

    @property
    def trigger_function(self) -> str:
        """How the run was triggered, as the retrieve endpoint names it."""
        if self.batch_id is not None:
            return "batchTriggerAndWait" if self.resume_parent_on_completion else "batchTrigger"
        return "triggerAndWait" if self.resume_parent_on_completion else "trigger"


class Store:
    """All emulator state; created once per emulator instance."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._env_by_key: dict[str, Environment] = {}
        self._env_by_id: dict[str, Environment] = {}
        self._branches: dict[tuple[str, str], Environment] = {}
        self.runs: dict[str, Run] = {}
        # (environment id, task identifier, key) -> run id
        self.idempotency: dict[tuple[str, str, str], str] = {}
        # (environment id, task identifier, header value) -> (run id, expiry)
        self.request_idempotency: dict[tuple[str, str, str], tuple[str, int]] = {}
        self.used_one_time_tokens: set[str] = set()
        self._last_id_ms = 0
        self._id_sequence = 0

    # environments -------------------------------------------------------------------------

    @staticmethod
    def root_env_id(key: str) -> str:
        """The id a key's root environment has (stable across emulator instances)."""
        return cuid_like("env\0" + key)

    def env_for_key(self, key: str, *, create: bool = True) -> Environment | None:
        """The root environment of a well-formed secret key, created on first use."""
        env = self._env_by_key.get(key)
        if env is None and create:
            env_type, slug = ENV_KINDS[key.split("_", 2)[1]]
            env = Environment(self.root_env_id(key), env_type, slug, key)
            self._env_by_key[key] = env
            self._env_by_id[env.id] = env
        return env

    def branch_env(self, parent: Environment, branch: str, *, create: bool = True) -> Environment | None:
        """A branch environment of ``parent`` (preview, or a named dev branch)."""
        env = self._branches.get((parent.id, branch))
        if env is None and create:
            env = Environment(
                cuid_like(f"branch\0{parent.api_key}\0{branch}"),
                parent.type,
                parent.slug,
                parent.api_key,
                parent=parent,
                branch_name=branch,
            )
            self._branches[(parent.id, branch)] = env
            self._env_by_id[env.id] = env
        return env

    def env_by_id(self, env_id: str) -> Environment | None:
        """Look an environment up by id (the ``sub`` of a public access token)."""
        return self._env_by_id.get(env_id)

    def environments(self) -> Iterator[Environment]:
        """Every environment created so far."""
        return iter(list(self._env_by_id.values()))

    # runs ---------------------------------------------------------------------------------

    def new_run_id(self) -> str:
        """``run_`` + 26 base32hex characters, increasing with creation order."""
        now = self.clock.now_ms()
        if now <= self._last_id_ms:
            self._id_sequence += 1
        else:
            self._last_id_ms, self._id_sequence = now, 0
        stamp = _encode(max(now, self._last_id_ms), _BASE32HEX, 10)
        sequence = _encode(self._id_sequence, _BASE32HEX, 4)
        noise = _encode(secrets.randbits(60), _BASE32HEX, 12)
        return f"run_{stamp}{sequence}{noise}"

    def add_run(self, run: Run) -> None:
        """Register a newly created run."""
        self.runs[run.id] = run

    def find_run(self, env: Environment, run_id: str) -> Run | None:
        """A run of ``env`` by friendly id (``run_`` prefix optional)."""
        run = self.runs.get(run_id) or self.runs.get("run_" + run_id)
        if run is None or run.env is not env:
            return None
        return run

    def runs_of(self, envs: Iterable[Environment]) -> list[Run]:
        """Runs of the given environments, in creation order."""
        wanted = {id(env) for env in envs}
        return [run for run in self.runs.values() if id(run.env) in wanted]

    def children_of(self, run: Run) -> list[Run]:
        """Direct child runs, in creation order."""
        return [child for child in self.runs.values() if child.parent_id == run.id]

    # lazy time-driven transitions --------------------------------------------------------

    def advance(self) -> None:
        """Apply the transitions that time alone causes, as of now.

        The real engine uses timers; doing it on every read gives tests the same observable
        states without background tasks: a DELAYED run becomes QUEUED at ``delayUntil``, and a
        run that has not started when its TTL elapses becomes EXPIRED.
        """
        now = self.clock.now_ms()
        for run in self.runs.values():
            if run.status == "DELAYED" and run.delay_until is not None and run.delay_until <= now:
                run.status = "PENDING"
                run.queued_at = run.updated_at = max(run.delay_until, run.created_at)
            if run.status in UNSTARTED_STATUSES and run.queued_at is not None:
                ttl_ms = run.ttl_ms
                if ttl_ms and run.queued_at + ttl_ms <= now:
                    expired = run.queued_at + ttl_ms
                    run.status = "EXPIRED"
                    run.expired_at = run.finished_at = run.updated_at = expired
