"""Finding Node, installing the official SDK outside the repository, running the driver.

The official SDK is installed with ``npm ci`` from ``package.json`` + ``package-lock.json``
(this folder) into ``~/.cache/trigger-async-conformance/<hash of the lock file>/``, once;
later runs reuse it. ``TRIGGER_ASYNC_CONFORMANCE_CACHE`` moves the cache root.

Without ``node``/``npm`` the Node-backed tests are skipped with the reason printed, except
when ``CI`` is set: there they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "driver.mjs"
PACKAGE_JSON = HERE / "package.json"
PACKAGE_LOCK = HERE / "package-lock.json"
SDK_VERSION = "4.8.3"


class NodeUnavailable(RuntimeError):
    """Node, npm or the official SDK could not be made available."""


def cache_root() -> Path:
    override = os.environ.get("TRIGGER_ASYNC_CONFORMANCE_CACHE")
    if override:
        return Path(override)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trigger-async-conformance"


def _lock_digest() -> str:
    digest = hashlib.sha256(PACKAGE_JSON.read_bytes() + b"\0" + PACKAGE_LOCK.read_bytes())
    return digest.hexdigest()[:16]


def sdk_dir() -> Path:
    """The installed ``@trigger.dev/sdk`` folder, installing it first if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        raise NodeUnavailable(f"{missing} not found on PATH: the official SDK cannot be run")
    target = cache_root() / _lock_digest()
    package = target / "node_modules" / "@trigger.dev" / "sdk"
    marker = target / ".installed"
    if marker.is_file() and (package / "package.json").is_file():
        return package
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="install-", dir=target.parent))
    try:
        shutil.copy2(PACKAGE_JSON, staging / "package.json")
        shutil.copy2(PACKAGE_LOCK, staging / "package-lock.json")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise NodeUnavailable(f"npm ci failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        (staging / ".installed").write_text(SDK_VERSION)
        if target.exists():  # another process won the race
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.rename(target)
    finally:
        if staging.exists() and staging != target:
            shutil.rmtree(staging, ignore_errors=True)
    version = json.loads((package / "package.json").read_text())["version"]
    if version != SDK_VERSION:
        raise NodeUnavailable(f"installed @trigger.dev/sdk is {version}, expected {SDK_VERSION}")
    return package


def require_sdk() -> Path:
    """``sdk_dir()``, or skip (locally) / fail (with ``CI`` set) with the reason printed."""
    try:
        return sdk_dir()
    except NodeUnavailable as error:
        reason = f"official SDK unavailable: {error}"
        print(f"\n[conformance] {reason}", file=sys.stderr)
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure)", pytrace=False)
        pytest.skip(reason)


def run_driver(job: dict[str, Any], *, timeout: float = 600) -> dict[str, Any]:
    """Run ``driver.mjs`` once over ``job`` (see the driver's header) and return its output."""
    package = require_sdk()
    node = shutil.which("node")
    assert node is not None
    with tempfile.TemporaryDirectory(prefix="trigger-conformance-") as tmp:
        job_file = Path(tmp) / "job.json"
        out_file = Path(tmp) / "out.json"
        job_file.write_text(json.dumps(job))
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TRIGGER_", "VERCEL_")) and key not in ("NODE_OPTIONS",)
        }
        env["TRIGGER_SDK_DIR"] = str(package)
        result = subprocess.run(
            [node, str(DRIVER), str(job_file), str(out_file)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        if result.returncode != 0 or not out_file.is_file():
            raise AssertionError(
                f"the Node driver failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        output: dict[str, Any] = json.loads(out_file.read_text())
        output["stderr"] = result.stderr
        return output
