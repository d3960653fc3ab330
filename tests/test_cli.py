"""The okrsync command line: validate, schema, metrics, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest
from typer.testing import CliRunner

from okrsync.cli import app
from okrsync.mapping.schema import json_schema

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

BROKEN = dedent("""\
    version: 1
    cycle: {name: Q, start: 2026-07-01, end: 2026-09-30}
    objectives:
      - key: o
        title: O
        key_results:
          - key: k
            title: K
            source: salesforce
            metric: win_rat
            target: eight
""")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each command from the repository root with no OKRSYNC_ variables set."""
    monkeypatch.chdir(ROOT)
    for name in list(__import__("os").environ):
        if name.startswith("OKRSYNC_"):
            monkeypatch.delenv(name)


def test_validate_shipped_mappings_exits_zero() -> None:
    """`okrsync validate` accepts the shipped mappings and config and says what it found."""
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert (
        "valid — 12 objectives, 34 key results, cycles 2026-H2, 2026-Q3, 5 files" in result.stdout
    )


def test_validate_broken_folder_exits_two_with_located_lines(tmp_path: Path) -> None:
    """A broken mapping prints one file:line:col line per problem on stderr and exits 2."""
    (tmp_path / "q3.yaml").write_text(BROKEN)
    result = runner.invoke(app, ["validate", "--mappings", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    shown = f"{tmp_path}/q3.yaml"
    assert len(lines) == 2
    assert lines[0].startswith(
        f"{shown}:10:17: objectives[0].key_results[0].metric: unknown metric `win_rat`"
    )
    assert lines[1] == (
        f"{shown}:11:17: objectives[0].key_results[0].target: "
        "expected a number or a percentage like `8%`, got 'eight'"
    )
    assert result.stdout == ""


def test_validate_broken_config_names_the_file(tmp_path: Path) -> None:
    """A configuration mistake is reported at its file:line:col and exits 2."""
    config = tmp_path / "okrsync.yaml"
    config.write_text("log:\n  level: loud\n")
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{config}:2:10: log.level: expected ")
    assert "got 'loud'" in result.stderr


def test_schema_prints_the_committed_schema(tmp_path: Path) -> None:
    """`okrsync schema` prints the JSON Schema; -o writes it; both equal the committed file."""
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    committed = (ROOT / "mappings" / "okrsync-mapping.schema.json").read_text()
    assert result.stdout == committed
    assert json.loads(result.stdout) == json_schema()
    out = tmp_path / "schema.json"
    assert runner.invoke(app, ["schema", "-o", str(out)]).exit_code == 0
    assert out.read_text() == committed


def test_metrics_lists_catalog_and_admin_metrics() -> None:
    """`okrsync metrics` lists built-in names and the admin's own, per connector."""
    result = runner.invoke(app, ["metrics", "--source", "salesforce"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in ("win_rate", "customer_churn_rate", "sales_trainings", "enquiries_answered_i"):
        assert name in result.stdout
    assert "hubspot" not in result.stdout
    rows = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if "│" in line}
    for name, nature in (("won_revenue", "accumulates"), ("pipeline_value", "level")):
        assert f"│ {nature}" in rows[name], rows[name]
    assert "│ accumulates" in rows["sales_trainings"]  # inferred: a count over the cycle
    units = {
        cells[1]: cells[2]
        for line in result.stdout.splitlines()
        if len(cells := [c.strip() for c in line.split("│")[1:-1]]) > 2 and cells[1]
    }
    assert units["first_response_hours"] == "hours"
    assert units["customer_lifetime_value"] == "currency"
    assert units["enquiries_answered_in_time"] == "percent"  # from the expression: a ratio


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2026-13-01", "error: --as-of: expected a date like 2026-07-01, got '2026-13-01'"),
        (
            "2999-01-04",
            "error: --as-of: a check-in records what happened, so it cannot be dated after",
        ),
    ],
)
def test_check_in_refuses_bad_and_future_dates(as_of: str, message: str) -> None:
    """`okrsync check-in --as-of` exits 2 for a date it cannot read or one in the future."""
    result = runner.invoke(app, ["check-in", "--as-of", as_of])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stdout == ""


def test_installed_script_discovers_connector_plugins(tmp_path: Path) -> None:
    """The installed `okrsync` script finds both connector plugins through entry points."""
    script = shutil.which("okrsync", path=str(Path(sys.executable).parent))
    assert script is not None
    (tmp_path / "q3.yaml").write_text(BROKEN.replace("salesforce", "pipedrive"))
    done = subprocess.run(  # noqa: S603
        [script, "validate", "--mappings", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={"PATH": str(Path(sys.executable).parent)},
    )
    assert done.returncode == 2
    assert "unknown source `pipedrive`; expected one of `hubspot`, `salesforce`" in done.stderr
