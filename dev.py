#!/usr/bin/env python3
"""Developer entry point that needs nothing but Python 3.11+ and pip.

    python3 dev.py demo          run the demo
    python3 dev.py test [ARGS]   lint, type-check and run every test (ARGS go to pytest)
    python3 dev.py okrsync ARGS  run the okrsync command line

It finds `uv` (on PATH, or installs it with pip into .cache/bootstrap), syncs
the locked workspace into .venv with this same Python interpreter, and runs
the command there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BOOTSTRAP = ROOT / ".cache" / "bootstrap"
MIN_PYTHON = (3, 11)


def find_uv() -> str:
    """Path of a uv executable, installing uv with pip when there is none."""
    found = shutil.which("uv")
    if found:
        return found
    bindir = BOOTSTRAP / ("Scripts" if os.name == "nt" else "bin")
    uv = bindir / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        print("dev.py: installing uv into .cache/bootstrap", file=sys.stderr)
        venv.create(BOOTSTRAP, with_pip=True, clear=True)
        python = bindir / ("python.exe" if os.name == "nt" else "python")
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", "uv>=0.5"])
    return str(uv)


def run(*args: str) -> None:
    """Run a command in the project root; exit with its code when it fails."""
    code = subprocess.call(list(args), cwd=ROOT)
    if code:
        sys.exit(code)


def typed_packages() -> list[str]:
    """The packages mypy checks: the core and every workspace member's ``okrsync_*`` package."""
    members = sorted(p for p in ROOT.glob("connectors/*/okrsync_*") if p.is_dir())
    return ["okrsync", *(p.relative_to(ROOT).as_posix() for p in members)]


def main(argv: list[str]) -> None:
    """Dispatch ``demo``, ``test`` or ``okrsync``."""
    if sys.version_info < MIN_PYTHON:
        sys.exit("okrsync needs Python 3.11 or newer")
    if not argv or argv[0] not in {"demo", "test", "okrsync"}:
        sys.exit(__doc__)
    os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
    uv = find_uv()
    run(uv, "sync", "--frozen", "--all-packages", "--python", sys.executable, "--quiet")
    command, rest = argv[0], argv[1:]
    if command == "demo":
        run(uv, "run", "--frozen", "okrsync", "demo", *rest)
    elif command == "okrsync":
        run(uv, "run", "--frozen", "okrsync", *rest)
    else:
        run(uv, "run", "--frozen", "ruff", "check", ".")
        run(uv, "run", "--frozen", "ruff", "format", "--check", ".")
        run(uv, "run", "--frozen", "mypy", *typed_packages())
        # the suite waits on sandboxes and subprocesses more than it computes: four workers
        # (one test module each at a time, so a module's sandbox starts once) fit two cores
        workers = [] if any(a == "-n" or a.startswith("-n") for a in rest) else ["-n", "4"]
        run(uv, "run", "--frozen", "pytest", *workers, "--dist", "loadscope", *rest)


if __name__ == "__main__":
    main(sys.argv[1:])
