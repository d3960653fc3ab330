"""`okrsync sandbox` as a process: ready line, real clients, admin API, written config, SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import requests
from hubspot import HubSpot  # type: ignore[import-untyped]
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from typer.testing import CliRunner

from okrsync.cli import app

ROOT = Path(__file__).resolve().parents[1]


class _PinnedCA(HTTPAdapter):
    """Verify with the sandbox CA even when REQUESTS_CA_BUNDLE says otherwise."""

    def __init__(self, ca: str) -> None:
        self.ca = ca
        super().__init__()

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["verify"] = self.ca
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    """A running `okrsync sandbox` process with its ready line and written config."""
    folder = tmp_path_factory.mktemp("sandbox")
    script = shutil.which("okrsync", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRSYNC_")}
    process = subprocess.Popen(  # noqa: S603
        [
            script,
            "sandbox",
            "--size",
            "400",
            "--seed",
            "3",
            "--write-config",
            str(folder / "sb.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,  # the written config names ROOT/mappings, absolute
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        yield json.loads(line), folder, process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=20)  # drains and closes the pipes


def test_ready_line_describes_both_crms(sandbox) -> None:
    """The one JSON line names each CRM's URL and credentials and the admin URL."""
    info, _, _ = sandbox
    assert set(info) == {"salesforce", "hubspot", "admin_url"}
    assert info["salesforce"]["instance_url"].startswith("https://127.0.0.1:")
    assert Path(info["salesforce"]["ca_cert"]).is_file()
    assert info["hubspot"]["host"].startswith("http://127.0.0.1:")


def test_real_clients_work_against_it_and_calls_are_counted(sandbox) -> None:
    """simple-salesforce and hubspot-api-client query it; the admin API counts their calls."""
    info, _, _ = sandbox
    sf_info = info["salesforce"]
    session = requests.Session()
    session.mount("https://", _PinnedCA(sf_info["ca_cert"]))
    sf = Salesforce(
        instance_url=sf_info["instance_url"], session_id=sf_info["session_id"], session=session
    )
    opportunities = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    assert opportunities > 0
    hs = HubSpot(access_token=info["hubspot"]["access_token"], host=info["hubspot"]["host"])
    page = hs.crm.deals.basic_api.get_page(limit=5, properties=["amount"])
    assert len(page.results) == 5
    with urllib.request.urlopen(info["admin_url"] + "/stats", timeout=5) as response:  # noqa: S310
        stats = json.loads(response.read())
    assert stats["salesforce"]["by_endpoint"]["query"] >= 1
    assert stats["hubspot"]["by_object"]["deals"] >= 1


def test_written_config_points_okrsync_at_it(sandbox) -> None:
    """--write-config writes a config (secrets in its env file) that okrsync accepts."""
    _, folder, _ = sandbox
    config = folder / "sb.yaml"
    assert "session_id" not in config.read_text()
    assert "OKRSYNC_CONNECTORS__SALESFORCE__SESSION_ID=" in (folder / "sb.env").read_text()
    result = CliRunner().invoke(
        app, ["validate", "--config", str(config), "--mappings", str(ROOT / "mappings")], env={}
    )
    assert result.exit_code == 0, result.output


def test_written_config_works_from_any_folder(
    sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config names the mappings and a store beside it by absolute path: `plan` works anywhere."""
    _, folder, _ = sandbox
    written = (folder / "sb.yaml").read_text()
    assert f'mappings: "{ROOT / "mappings"}"' in written
    assert f'store_url: "sqlite:///{folder / "sb-state.db"}"' in written
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        ["plan", "--config", str(folder / "sb.yaml"), "--as-of", "2026-08-17", "--json"],
        env={"OKRSYNC_LOG__FORMAT": "json"},
    )
    assert result.exit_code == 0, result.output
    assert (folder / "sb-state.db").is_file()
    assert list(tmp_path.iterdir()) == []  # nothing created in the working directory
    events = [json.loads(line) for line in result.stderr.splitlines()]
    created = next(e for e in events if e["event"] == "store.created")
    assert created["path"] == str(folder / "sb-state.db")


def test_as_of_is_checked_like_plan_and_sync() -> None:
    """`okrsync sandbox --as-of garbage` says what it expected, as `plan` does, and exits 2."""
    sandbox = CliRunner().invoke(app, ["sandbox", "--as-of", "garbage"], env={})
    plan = CliRunner().invoke(app, ["plan", "--as-of", "garbage"], env={})
    assert sandbox.exit_code == plan.exit_code == 2
    assert (
        sandbox.stderr
        == plan.stderr
        == ("error: --as-of: expected a date like 2026-07-01, got 'garbage'\n")
    )


def test_sigterm_stops_it_cleanly(sandbox) -> None:
    """SIGTERM makes the process stop serving and exit 0."""
    _, _, process = sandbox
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_bad_data_files_exit_two_with_one_located_line_each(tmp_path: Path) -> None:
    """`--data` with bad files lists every problem of every CRM as file:line and exits 2."""
    (tmp_path / "salesforce").mkdir()
    (tmp_path / "hubspot").mkdir()
    (tmp_path / "salesforce" / "User.jsonl").write_text(
        '{"Username": "a@acme.example", "Email": "a@acme.example", "FirstName": "A"}\n'
        '{"Username": "b@acme.example", "Email": "b@acme.example", "LastName": "Bee"}\n'
        "{not json\n"
    )
    (tmp_path / "salesforce" / "Spaceship.jsonl").write_text('{"Name": "x"}\n')
    (tmp_path / "hubspot" / "contacts.jsonl").write_text(
        '{"id": "1", "properties": {"lifecyclestage": "superfan"}}\n[1]\n'
    )
    result = CliRunner().invoke(app, ["sandbox", "--data", str(tmp_path)], env={})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        (
            f"{tmp_path}/hubspot/contacts.jsonl:1: lifecyclestage: superfan was not one of the "
            "allowed options: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, "
            "opportunity, customer, evangelist, other]"
        ),
        f"{tmp_path}/hubspot/contacts.jsonl:2: expected a JSON object (one record per line)",
        f"{tmp_path}/salesforce/Spaceship.jsonl: the org has no object Spaceship",
        (
            f"{tmp_path}/salesforce/User.jsonl:1: REQUIRED_FIELD_MISSING: Required fields are "
            "missing: [LastName]"
        ),
        (
            f"{tmp_path}/salesforce/User.jsonl:3: invalid JSON: Expecting property name enclosed "
            "in double quotes (column 2)"
        ),
    ]
    assert result.stdout == ""  # no ready line: nothing is served
