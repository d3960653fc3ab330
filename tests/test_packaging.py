"""The production install: the Dockerfile's install step leaves every emulator out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _install_step() -> str:
    """The Dockerfile's `RUN uv sync …` instruction, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^RUN (uv sync .*?)(?<!\\)\n", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "the Dockerfile has no `RUN uv sync` step"
    return match.group(1).replace("\\\n", " ")


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".cache" / "bootstrap" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed (dev.py installs it into .cache/bootstrap)")
    return found


def test_production_install_has_connectors_and_no_emulator(tmp_path: Path) -> None:
    """Running the image's install step gives the core and every connector, and no sandbox module."""
    context = tmp_path / "app"
    context.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy2(ROOT / name, context / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "tests")
    shutil.copytree(ROOT / "okrsync", context / "okrsync", ignore=ignore)
    shutil.copytree(ROOT / "connectors", context / "connectors", ignore=ignore)
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "PATH": f"{Path(_uv()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(  # noqa: S603
        ["bash", "-c", _install_step()],  # noqa: S607
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    site = next((tmp_path / "venv").glob("lib/python*/site-packages"))
    modules = {p.name for p in site.iterdir() if p.is_dir() and not p.name.endswith("-info")}
    members = sorted(
        p.name for p in (ROOT / "connectors").iterdir() if (p / "pyproject.toml").exists()
    )
    connectors = [m for m in members if m != "sandbox" and not m.endswith("-sandbox")]
    assert "okrsync" in modules
    for member in connectors:
        assert f"okrsync_{member.replace('-', '_')}" in modules, member
    assert not {m for m in modules if m.endswith("_sandbox")}
    assert "werkzeug" not in modules  # only the emulators serve with it
    # the core serves the daemon on waitress and imports neither Werkzeug (the emulators') nor
    # pytest (a dev tool: okrsync.testing.contract alone needs it)
    assert "waitress" in modules
    python = tmp_path / "venv" / "bin" / "python"
    imports = (
        "import sys; sys.modules.update(werkzeug=None, pytest=None); "
        "import okrsync.cli, okrsync.daemon, okrsync.engine, okrsync.testing"
    )
    imported = subprocess.run([python, "-c", imports], capture_output=True, text=True, check=False)  # noqa: S603
    assert imported.returncode == 0, imported.stderr
    # the Salesforce DX project ships in the wheel, where the deploy command points
    shown = subprocess.run(  # noqa: S603
        [python, "-c", "from okrsync_salesforce import plugin; print(plugin.deploy_command())"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    source_dir = Path(shown.stdout.split("--source-dir ", 1)[1].strip())
    assert source_dir.is_relative_to(site)
    assert (source_dir.parent / "sfdx-project.json").is_file()
    assert list(source_dir.glob("main/default/objects/*/fields/*.field-meta.xml"))
    # the image's command line starts and says what is missing instead of failing on an import
    okrsync = tmp_path / "venv" / "bin" / "okrsync"
    help_run = subprocess.run([okrsync, "--help"], capture_output=True, text=True, check=False)  # noqa: S603
    assert help_run.returncode == 0, help_run.stderr
    demo = subprocess.run([okrsync, "demo"], capture_output=True, text=True, check=False)  # noqa: S603
    assert demo.returncode == 2
    assert "needs the sandbox CRMs" in demo.stderr
