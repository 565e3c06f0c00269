"""In-memory state of the emulator: project, environments, runs and their indexes.

Everything here runs on the emulator's event loop thread; nothing is locked.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import Any, Final

import attrs

from ._packets import OFFLOAD_THRESHOLD, STORE_TYPE, Packet, packet_extension
from ._records import Batch, BulkAction, Deployment, EnvVarValue, Prompt, Queue, Schedule, StoredObject
from ._statuses import FINAL_STATUSES, UNSTARTED_STATUSES
from ._timeutil import Clock, parse_duration_ms

PROJECT_REF: Final = "proj_emulator"

#: Example keys, one per environment kind (any key of the same shape works too).
DEV_KEY: Final = "tr_dev_emulator0000000000000001"
STAGING_KEY: Final = "tr_stg_emulator0000000000000001"
PROD_KEY: Final = "tr_prod_emulator0000000000000001"
PREVIEW_KEY: Final = "tr_preview_emulator0000000000000001"
EXAMPLE_KEYS: Final = {"dev": DEV_KEY, "stg": STAGING_KEY, "prod": PROD_KEY, "preview": PREVIEW_KEY}

#: Additional (scoped) secret keys; the emulator treats one as a key of the example key's
#: environment of the same kind, without being that environment's root key.
ADDITIONAL_KEY_PATTERN: Final = re.compile(r"^tr_(dev|stg|prod|preview)_sk_[0-9a-zA-Z]{24}$")

#: Every environment's ``maximumConcurrencyLimit``.
ENV_MAX_CONCURRENCY: Final = 100

# key prefix -> (environment type, slug)
ENV_KINDS: Final = {
    "dev": ("DEVELOPMENT", "dev"),
    "stg": ("STAGING", "staging"),
    "prod": ("PRODUCTION", "prod"),
    "preview": ("PREVIEW", "preview"),
}

_DB_SLUGS: Final = {"DEVELOPMENT": "dev", "STAGING": "stg", "PRODUCTION": "prod", "PREVIEW": "preview"}
_BASE32HEX: Final = "0123456789abcdefghijklmnopqrstuv"
_BASE36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
_NANOID: Final = "123456789abcdefghijkmnopqrstuvwxyz"


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


_FINGERPRINT: Final = _encode(secrets.randbits(21), _BASE36, 4)
_counter = itertools.count()


def friendly_id(prefix: str) -> str:
    """A new ``<prefix>_<25-char cuid>`` id (batches, queues, deployments, prompts...).

    Like a cuid: ``c``, a base36 timestamp and a counter first, so ids sort in creation
    order (lists ordered by internal id rely on it).
    """
    stamp = _encode(int(time.time() * 1000), _BASE36, 8)
    count = _encode(next(_counter) % 36**4, _BASE36, 4)
    return f"{prefix}_c{stamp}{count}{_FINGERPRINT}{_encode(secrets.randbits(42), _BASE36, 8)}"


def nanoid(size: int = 21) -> str:
    """A random id from the server's friendly-id alphabet (``sched_`` ids)."""
    return "".join(secrets.choice(_NANOID) for _ in range(size))


def root_key(key: str) -> str:
    """The root key whose environment a secret key selects (itself unless additional)."""
    match = ADDITIONAL_KEY_PATTERN.match(key)
    return EXAMPLE_KEYS[match.group(1)] if match else key


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
    def db_slug(self) -> str:
        """The slug the server stores (``stg`` for staging), as env-var routes name it."""
        return _DB_SLUGS[self.type]

    @property
    def shortcode(self) -> str:
        """A short stable code of the environment (schedule answers show it)."""
        return cuid_like("shortcode\0" + self.id)[-4:]

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
    bulk_action_ids: list[str] = attrs.field(factory=list)
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
        self.used_batch_tokens: set[str] = set()
        self._last_id_ms = 0
        self._id_sequence = 0
        self._sequence = 0
        self.batches: dict[str, Batch] = {}
        # (environment id, idempotency key) -> batch id
        self.batch_idempotency: dict[tuple[str, str], str] = {}
        # batch id -> (stream grants left, expiry)
        self.stream_grants: dict[str, tuple[int, int]] = {}
        self.objects: dict[str, StoredObject] = {}
        self.bulk_actions: dict[str, BulkAction] = {}
        self.schedules: dict[str, Schedule] = {}
        # variable name -> environment id -> value (project-level keys, per-env values)
        self.env_vars: dict[str, dict[str, EnvVarValue]] = {}
        # (environment id, queue name) -> queue
        self.queues: dict[tuple[str, str], Queue] = {}
        self.deployments: dict[str, Deployment] = {}
        # environment id -> id of the deployment labelled "current"
        self.current_deployment: dict[str, str] = {}
        # (environment id, slug) -> prompt
        self.prompts: dict[tuple[str, str], Prompt] = {}

    def next_sequence(self) -> int:
        """A counter that orders records created in the same millisecond."""
        self._sequence += 1
        return self._sequence

    # environments -------------------------------------------------------------------------

    @staticmethod
    def root_env_id(key: str) -> str:
        """The id a key's root environment has (stable across emulator instances)."""
        return cuid_like("env\0" + root_key(key))

    def env_for_key(self, key: str, *, create: bool = True) -> Environment | None:
        """The root environment of a well-formed secret key, created on first use."""
        key = root_key(key)
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

    def example_env(self, kind: str) -> Environment:
        """The environment of the example key of a kind (``dev``, ``stg``, ``prod``, ``preview``)."""
        env = self.env_for_key(EXAMPLE_KEYS[kind])
        assert env is not None
        return env

    # object store -------------------------------------------------------------------------

    def offload(self, packet: Packet, stem: str) -> Packet:
        """Move a packet of at least 512 KiB to the object store, as the server does.

        The stored object is ``<stem>.<ext>`` with the packet type as its content type; the
        returned packet is the ``application/store`` reference to it.
        """
        if packet.data is None or packet.data_type == STORE_TYPE or packet.size < OFFLOAD_THRESHOLD:
            return packet
        path = f"{stem}.{packet_extension(packet.data_type)}"
        self.objects[path] = StoredObject(packet.data.encode(), packet.data_type)
        return Packet(path, STORE_TYPE)

    def take_stream_grant(self, batch_id: str, now_ms: int) -> bool:
        """Use one of the batch's rate-limit-free stream requests, if any are left."""
        left, expires = self.stream_grants.get(batch_id, (0, 0))
        if left <= 0 or expires <= now_ms:
            return False
        self.stream_grants[batch_id] = (left - 1, expires)
        return True

    # queues -------------------------------------------------------------------------------

    def ensure_queue(self, env: Environment, name: str) -> Queue:
        """The queue ``name`` of ``env``, created on first use (as a trigger names it)."""
        queue = self.queues.get((env.id, name))
        if queue is None:
            queue = Queue(friendly_id("queue"), env, name)
            self.queues[(env.id, name)] = queue
        return queue

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
        states without background tasks: a DELAYED run becomes QUEUED at ``delayUntil``, a
        run that has not started when its TTL elapses becomes EXPIRED, and a processed batch
        whose runs are all final becomes COMPLETED.
        """
        now = self.clock.now_ms()
        self._advance_runs(now)
        for batch in self.batches.values():
            if batch.status == "PENDING" and batch.processing_completed_at is not None:
                runs = [self.runs.get(run_id) for run_id in batch.run_ids]
                if all(run is not None and run.is_final for run in runs):
                    batch.status = "COMPLETED"
                    batch.updated_at = now

    def next_transition_ms(self) -> int | None:
        """When ``advance`` will next change a run by itself (a delay or a TTL running out)."""
        due: int | None = None
        for run in self.runs.values():
            moment: int | None = None
            if run.status == "DELAYED" and run.delay_until is not None:
                moment = max(run.delay_until, run.created_at)
            elif run.status in UNSTARTED_STATUSES and run.queued_at is not None:
                ttl_ms = run.ttl_ms
                if ttl_ms:
                    moment = run.queued_at + ttl_ms
            if moment is not None and (due is None or moment < due):
                due = moment
        return due

    def _advance_runs(self, now: int) -> None:
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
