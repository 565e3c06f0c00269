"""Sessions: tests (every installed Python 3.10–3.13), lint, typecheck, demo."""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "demo"]
nox.options.reuse_existing_virtualenvs = True

SUPPORTED = ["3.10", "3.11", "3.12", "3.13"]
CONSTRAINTS = ("-c", "constraints.txt")


def _installed(version: str) -> bool:
    """Whether an interpreter for ``version`` can be found (PATH or pyenv)."""
    if shutil.which(f"python{version}"):
        return True
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return False
    listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True)
    return any(line.strip().startswith(f"{version}.") for line in listed.stdout.splitlines())


def _pyenv_paths() -> list[str]:
    """Put pyenv's interpreters on PATH so nox finds python3.10 ... python3.13."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return []
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
    listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True)
    return [
        os.path.join(root, "versions", line.strip(), "bin")
        for line in listed.stdout.splitlines()
        if line.strip()[:4] in {v for v in SUPPORTED} or line.strip()[:5] in SUPPORTED
    ]


os.environ["PATH"] = os.pathsep.join([*_pyenv_paths(), os.environ.get("PATH", "")])
AVAILABLE = [version for version in SUPPORTED if _installed(version)]
MISSING = [version for version in SUPPORTED if version not in AVAILABLE]


@nox.session(python=AVAILABLE)
def tests(session: nox.Session) -> None:
    """pytest with every warning an error (ResourceWarning and unclosed sessions included)."""
    if MISSING:
        session.log(f"Python {', '.join(MISSING)} not installed here: not tested on it")
    session.install(*CONSTRAINTS, "-e", ".", "-r", "requirements-test.txt")
    session.run(
        "python",
        "-X",
        "dev",
        "-W",
        "error",
        "-m",
        "pytest",
        *session.posargs,
        env={"PYTHONDEVMODE": "1", "PYTHONWARNINGS": "error"},
    )


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


@nox.session(python=AVAILABLE[:1] or None)
def demo(session: nox.Session) -> None:
    """The demo against the embedded emulator."""
    session.install(*CONSTRAINTS, "-e", ".")
    session.run("python", "-W", "error", "-m", "trigger_async.demo", env={"TRIGGER_SECRET_KEY": ""})
