"""Arguments of the newer namespaces that the official SDK accepts (or that this SDK's own
types suggest) and that are refused or sent differently today."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.recorder import Answer, Recorder
from trigger_async import AsyncTriggerClient, QueueRef
from trigger_async.models.prompts import ResolvedPrompt

ROOT = "tr_dev_surface_arguments"
RESOLVED = {"data": {"promptId": "prompt_1", "slug": "greet", "version": 1, "labels": ["current"], "text": "Hi"}}


async def test_prompt_variables_with_aware_datetime_are_sent_as_iso() -> None:
    # Official body: JSON.stringify({variables}) writes a Date as its ISO string, as this SDK
    # does for metadata; prompts.resolve refuses it with "datetime is not JSON serializable".
    async with Recorder() as rec, AsyncTriggerClient(access_token=ROOT, base_url=rec.url) as client:
        rec.script("POST", "/api/v1/prompts/greet", Answer(200, RESOLVED))
        await client.prompts.resolve("greet", {"when": datetime(2024, 5, 1, tzinfo=timezone.utc)})
    assert rec.seen[-1].body == b'{"variables":{"when":"2024-05-01T00:00:00.000Z"}}'


def test_prompt_telemetry_input_is_json_stringify_of_the_variables() -> None:
    # Official: "prompt.input": JSON.stringify(vars) (raw UTF-8, 1 not 1.0); today json.dumps
    # with ensure_ascii: "{\"name\":\"\\u00e9\",\"n\":1.0}".
    prompt = ResolvedPrompt(prompt_id="prompt_1", version=1, slug="greet", variables={"name": "é", "n": 1.0})
    metadata = prompt.to_ai_sdk_telemetry()["experimental_telemetry"]["metadata"]
    assert metadata["prompt.input"] == '{"name":"é","n":1}'


async def test_bulk_filter_accepts_the_sdks_own_queue_refs() -> None:
    # runs.list(queue=QueueRef(...)) works, queues.* take QueueRef, but a bulk filter with a
    # QueueRef raises "filter.queue[0]: QueueRef is not JSON serializable".
    async with Recorder() as rec, AsyncTriggerClient(access_token=ROOT, base_url=rec.url) as client:
        rec.script("POST", "/api/v1/bulk-actions", Answer(200, {"id": "bulk_1"}))
        await client.runs.bulk.cancel(filter={"queue": [QueueRef("task", "send-email")]})
    assert json.loads(rec.seen[-1].body) == {
        "filter": {"queue": [{"type": "task", "name": "send-email"}]},
        "action": "cancel",
    }
