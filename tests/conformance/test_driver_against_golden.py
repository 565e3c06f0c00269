"""The Node driver + recording server reproduce the golden recordings.

Every single-call golden case is replayed through ``driver.mjs`` (the official SDK 4.8.3)
against a recording server answering with the golden responses; what the server records
must equal the golden requests (method, path, raw query, SDK-chosen headers, bodies,
request-key pattern), the outcome the golden outcome, and for retry cases the gaps the
golden timeline (-20 ms / +300 ms, or the recorded jitter range). This validates the
harness the conformance suite compares our client with.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import goldens
from .compare import diff_outcomes, diff_requests, secrets_of
from .harness import Run, run_official

pytestmark = pytest.mark.skipif(not goldens.available(), reason=f"no golden files at {goldens.GOLDEN_DIR}")

NAMES = goldens.single_call_names()


@pytest.fixture(scope="module")
def driven() -> dict[str, Run]:
    cases = [goldens.as_catalogue_case(goldens.load(name)) for name in NAMES]
    runs, _ = run_official(cases, concurrency=16)
    return runs


def ordered(case: dict[str, Any]) -> bool:
    return not any(item["kind"] == "order" for item in case.get("volatile", []))


@pytest.mark.parametrize("name", NAMES)
def test_driver_records_the_golden_requests(name: str, driven: dict[str, Run]) -> None:
    case = goldens.load(name)
    run = driven[name]
    diffs = diff_requests(goldens.recorded(case), run.requests, ordered=ordered(case))
    diffs += diff_outcomes(goldens.expected_outcome(case), run.outcome, secrets_of(case["call"]))
    diffs += goldens.diff_gaps(case, run.requests)
    assert not run.unscripted, run.unscripted
    assert not diffs, "\n".join(diffs)


def test_every_golden_is_replayed_or_listed() -> None:
    assert set(goldens.names()) == set(NAMES) | set(goldens.NOT_REPLAYED)
