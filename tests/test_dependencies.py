"""Every workspace distribution declares what it imports (deptry, run in each member's folder)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _members() -> list[Path]:
    """The root distribution and every workspace member (``connectors/*``)."""
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    found = [ROOT]
    for pattern in workspace["members"]:
        found += sorted(p.parent for p in ROOT.glob(f"{pattern}/pyproject.toml"))
    return found


MEMBERS = _members()


def test_the_workspace_members_are_found() -> None:
    """The check covers the root and each connector and emulator folder."""
    names = {p.relative_to(ROOT).as_posix() for p in MEMBERS}
    assert {".", "connectors/salesforce", "connectors/hubspot", "connectors/sandbox"} <= names


@pytest.mark.parametrize("member", MEMBERS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_imports_are_declared_by_the_distribution_that_imports_them(member: Path) -> None:
    """No import is missing, unused, transitive or dev-only in the member's code (deptry)."""
    done = subprocess.run(
        [sys.executable, "-m", "deptry", ".", "--no-ansi"],
        cwd=member,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
