"""Session fixtures of the conformance suite and its per-namespace summary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from .catalogue import CASES
from .harness import Run, run_official

# group → outcome → case names; filled by the tests, printed at the end of the session.
SUMMARY: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
NOTES: list[str] = []


@pytest.fixture(scope="session")
def official() -> Iterator[tuple[dict[str, Run], dict[str, Any]]]:
    """Every catalogue case run once through the official SDK (one Node process)."""
    yield run_official(CASES)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not SUMMARY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("conformance: official SDK 4.8.3 vs trigger_async")
    totals = [0, 0, 0, 0]
    for group in sorted(SUMMARY):
        outcomes = SUMMARY[group]
        equal, documented = len(outcomes["equal"]), len(outcomes["documented"])
        defects, different = len(outcomes["defect"]), len(outcomes["different"])
        count = equal + documented + defects + different
        totals = [a + b for a, b in zip(totals, (count, equal, documented, defects + different), strict=True)]
        line = f"{group}: {count} cases, {equal} equal, {documented} documented differences"
        if defects:
            line += f", {defects} not equal: known client defects"
        if different:
            line += f", {different} NOT EQUAL ({', '.join(outcomes['different'])})"
        write(line)
    write(f"total: {totals[0]} cases, {totals[1]} equal, {totals[2]} documented differences, {totals[3]} not equal")
    for note in NOTES:
        write(f"note: {note}")
