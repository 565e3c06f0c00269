"""Sessions: tests (every installed Python 3.10–3.13), lint, typecheck, demo."""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "conformance", "demo"]
nox.options.reuse_existing_virtualenvs = True

SUPPORTED = ["3.10", "3.11", "3.12", "3.13"]
# Every warning is an error, ResourceWarning and aiohttp's "Unclosed ..." included.
PYTEST = ("python", "-X", "dev", "-W", "error", "-m", "pytest")
STRICT = {"PYTHONDEVMODE": "1", "PYTHONWARNINGS": "error"}
CONSTRAINTS = ("-c", "constraints.txt")


def _pyenv_bins() -> dict[str, str]:
    """``{"3.11": "/root/.pyenv/versions/3.11.7/bin", ...}`` for pyenv's supported Pythons."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return {}
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
    listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True).stdout
    found: dict[str, str] = {}
    for name in listed.split():
        minor = ".".join(name.split(".")[:2])
        if minor in SUPPORTED and name.count(".") == 2:
            found.setdefault(minor, os.path.join(root, "versions", name, "bin"))
    return found


# pyenv keeps interpreters off PATH; put them on it so nox finds python3.10 ... python3.13.
_BINS = _pyenv_bins()
os.environ["PATH"] = os.pathsep.join([*_BINS.values(), os.environ.get("PATH", "")])
AVAILABLE = [v for v in SUPPORTED if v in _BINS or shutil.which(f"python{v}")]
MISSING = [v for v in SUPPORTED if v not in AVAILABLE]


@nox.session(python=AVAILABLE)
def tests(session: nox.Session) -> None:
    """pytest with every warning an error (ResourceWarning and unclosed sessions included)."""
    if MISSING:
        session.log(f"Python {', '.join(MISSING)} not installed here: not tested on it")
    session.install(*CONSTRAINTS, "-e", ".", "-r", "requirements-test.txt")
    # The conformance suite drives the official SDK through Node: once, in its own session.
    args = session.posargs or ["--ignore=tests/conformance"]
    session.run(*PYTEST, *args, env=STRICT)


@nox.session(python=AVAILABLE[:1] or None)
def conformance(session: nox.Session) -> None:
    """The official SDK (@trigger.dev/sdk 4.8.3, from npm) side by side with this one."""
    session.install(*CONSTRAINTS, "-e", ".", "-r", "requirements-test.txt")
    session.run(*PYTEST, "tests/conformance", *session.posargs, env=STRICT)


@nox.session(python=AVAILABLE[:1] or None)
def lint(session: nox.Session) -> None:
    """ruff."""
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", "trigger_async", "tests", "benchmarks", "noxfile.py")


@nox.session(python=AVAILABLE[:1] or None)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package (checked as Python 3.10)."""
    session.install(*CONSTRAINTS, "-e", ".", "mypy", "pytest")
    session.run("mypy", "--strict", "trigger_async")
    # The typing checks: lines marked "type: ignore" must be rejected, so an accepted wrong
    # payload shows up as an unused ignore.
    session.run("mypy", "--strict", "tests/typing")


@nox.session(python=AVAILABLE[:1] or None)
def demo(session: nox.Session) -> None:
    """The demo against the embedded emulator."""
    session.install(*CONSTRAINTS, "-e", ".")
    session.run("python", "-W", "error", "-m", "trigger_async.demo", env={"TRIGGER_SECRET_KEY": ""})
