"""A local emulator of the Trigger.dev management API, for tests and demos.

``Emulator`` serves an ``aiohttp.web`` app on the running event loop; ``ThreadedEmulator``
serves it from a background thread for synchronous code and tests that start several event
loops. Both record every request, can script faults (``inject``), and expose controls that
move runs through their lifecycle. ``python -m trigger_async.testing serve`` runs it from the
command line; the ``trigger_emulator`` pytest fixture comes from
``trigger_async.testing.pytest_plugin``.

The emulator answers like the real server: status codes, error texts, headers and response
shapes (see the module docs of ``trigger_async.testing._app`` for the request pipeline).
It serves tasks (trigger), runs, batches (v3 create + NDJSON items, v1/v2 retrieve, the v2
array API), packets (presigned URLs on the emulator's own object store under
``/__objectstore/``), bulk actions, schedules and timezones, environment variables, queues,
deployments, prompts, public tokens (``/api/v1/auth/jwt/claims`` and
``/api/v1/auth/public-tokens``) and realtime: Electric shapes of a run, of tagged runs and of a
batch's runs under ``/realtime/v1/`` (long-polled; every run change wakes the held requests),
and the v1 server-sent run streams (see ``trigger_async.testing._realtime``).

Options (both classes): ``dedupe_request_idempotency``, ``rate_limit`` (the API and
deployment budgets, public-token windows and the batch item quota) and
``batch_idempotency_cached`` (a repeated batch ``idempotencyKey`` answers the existing batch
with ``isCached: true`` instead of the real server's 422) and ``realtime_poll_timeout`` (how
long a ``live=true`` shape request waits for a change; 20 s).

Controls and inspection, identical on ``Emulator`` and ``ThreadedEmulator``:

* requests: ``requests``, ``clear_requests()``, ``inject(method, path, *responses)``;
* runs: ``start_run``, ``complete_run`` (outputs of 512 KiB or more are offloaded),
  ``fail_run``, ``set_run_status``, ``advance_time``, ``runs(key, branch=None)``;
* realtime: ``append_stream(run_id, key, chunk)`` (returns the event id),
  ``close_stream(run_id, key)`` and ``rotate_shapes()`` (old shape handles then get 409);
* seeding: ``add_deployment(key, version, *, status="DEPLOYED", branch=None)``,
  ``add_prompt(key, slug, versions, *, description, tags, default_model, default_config,
  variable_schema, branch)``, ``add_declarative_schedule(key, task, cron, *, timezone="UTC",
  branch=None)`` (there are no deployments, prompts or declarative schedules by default);
* inspection: ``batches(key, branch=None)``, ``bulk_actions(...)``, ``schedules(...)``,
  ``env_vars(...)`` (unredacted), ``queues(...)`` and ``stored_object(path)``.

Every well-formed secret key is its own environment; an additional key
(``tr_<kind>_sk_`` + 24 letters or digits) is a key of the example key's environment of the
same kind (``DEV_KEY``...), and a personal access token (``tr_pat_`` + 40 letters or digits)
reaches the example environments through the env-var routes.
"""

from __future__ import annotations

from ._emulator import (
    DEV_KEY,
    PREVIEW_KEY,
    PROD_KEY,
    STAGING_KEY,
    Emulator,
    ThreadedEmulator,
)
from ._models import InjectedResponse, RecordedRequest
from ._store import PROJECT_REF

__all__ = [
    "DEV_KEY",
    "PREVIEW_KEY",
    "PROD_KEY",
    "PROJECT_REF",
    "STAGING_KEY",
    "Emulator",
    "InjectedResponse",
    "RecordedRequest",
    "ThreadedEmulator",
]
