"""The command line starts without the store, the engine, the logging set-up or any CRM SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "sqlmodel", "simple_salesforce", "hubspot", "requests", "structlog", "rich")


def _imported(code: str) -> list[str]:
    """The heavy top-level packages a fresh interpreter has imported after ``code``."""
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    done = subprocess.run(  # noqa: S603  (our own interpreter, our own code)
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_package() -> None:
    """``import okrsync.cli`` (what ``okrsync --help`` needs) loads none of SQLAlchemy, SQLModel, structlog, rich or a CRM SDK."""
    assert _imported("import okrsync.cli") == []


def test_help_is_drawn_without_heavy_packages() -> None:
    """``okrsync --help`` prints the commands and exit codes without loading them either."""
    code = "from okrsync.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    assert _imported(code) == []


def test_validate_needs_no_store_engine_logging_or_sdk() -> None:
    """``okrsync validate`` on the shipped mappings checks them without the store, the engine, logging or an SDK."""
    code = (
        "from okrsync.cli import app\n"
        "try:\n    app(['validate', '--config', 'config/okrsync.yaml', '--mappings', 'mappings'])\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code"
    )
    assert _imported(code) == []
