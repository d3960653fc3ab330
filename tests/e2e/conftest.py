"""End-to-end fixtures: the sandbox CRMs served in this process, okrsync in-process and as a process.

The sandboxes are seeded as of the same moment the tests evaluate (``AS_OF``
at noon UTC), so the data, the CRM clock and the evaluation date agree.
In-process apps are wired as ``okrsync demo`` wires them (connectors on the
sandbox clock); subprocesses get the configuration ``write_config`` writes,
with this environment's ``OKRSYNC_*`` variables removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from hubspot import HubSpot  # type: ignore[import-untyped]
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from sqlmodel import Session, col, select

from okrsync.alignment import with_ancestors
from okrsync.app import App, connect, load_config, load_mappings_for
from okrsync.contribution import members_of, personal_key_results
from okrsync.crm_objects import OKR_OBJECTS, UNASSIGNED
from okrsync.state.db import open_store
from okrsync.state.models import ContributionRow
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from okrsync.connector import LogicalObject
    from okrsync.model import KeyResult
    from okrsync.plugins import PluginRegistry
    from okrsync_sandbox.runner import SandboxGroup

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
"""The shipped mappings: 34 key results over both CRMs (one a template of personal ones)."""
AS_OF = date(2026, 8, 17)
MOMENT = datetime(2026, 8, 17, 12, tzinfo=UTC)
SEED = 11
SIZE = 3000
OBJECTS: dict[str, LogicalObject] = {o.name: o for o in OKR_OBJECTS}
PHYSICAL = {
    "salesforce": {
        "objective": "OKR_Objective__c",
        "key_result": "OKR_Key_Result__c",
        "check_in": "OKR_Check_In__c",
        "contribution": "OKR_Contribution__c",
    },
    "hubspot": {
        "objective": "okr_objective",
        "key_result": "okr_key_result",
        "check_in": "okr_check_in",
        "contribution": "okr_contribution",
    },
}


def okrsync_command(*args: str) -> list[str]:
    """The installed ``okrsync`` script with ``args``."""
    script = shutil.which("okrsync", path=str(Path(sys.executable).parent))
    assert script is not None, "the okrsync script is not installed beside this Python"
    return [script, *args]


def process_env(**overrides: str) -> dict[str, str]:
    """This environment without ``OKRSYNC_*`` variables, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRSYNC_")}
    env.update(overrides)
    return env


def run_okrsync(*args: str, cwd: Path | None = None, timeout: float = 90, **env: str) -> Any:
    """Run ``okrsync args`` to completion; the ``CompletedProcess`` (text)."""
    return subprocess.run(  # noqa: S603  (our own script, fixed arguments)
        okrsync_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=process_env(**env),
        cwd=cwd,
        check=False,
    )


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_key_results(app: App) -> list[KeyResult]:
    """Every key result a run of ``app`` evaluates, personal ones right after their template.

    The members are the team's as its CRM lists them now.
    """
    krs = list(app.mappings.key_results())
    members = members_of(krs, app.connectors)
    out: list[KeyResult] = []
    for kr in krs:
        out.append(kr)
        if kr.template is not None:
            out += personal_key_results(kr, members[kr.full_key])
    return out


def contribution_keys(app: App) -> dict[str, list[str]]:
    """Keys of the contributions the latest run computed, by key result (from the state store)."""
    out: dict[str, list[str]] = {}
    with Session(app.db) as session:
        latest = session.exec(
            select(ContributionRow.run_id).order_by(col(ContributionRow.run_id).desc()).limit(1)
        ).first()
        rows = session.exec(
            select(ContributionRow).where(
                ContributionRow.run_id == latest, col(ContributionRow.contribution).is_(True)
            )
        )
        for row in rows:
            out.setdefault(row.kr_key, []).append(f"{row.kr_key}/{row.owner or UNASSIGNED}")
    return out


def expected_keys(app: App, as_of: date = AS_OF) -> dict[tuple[str, str], list[str]]:
    """Keys of the records okrsync should hold in each CRM, by (connector, logical object)."""
    out: dict[tuple[str, str], list[str]] = {}
    own: dict[str, set[str]] = {}
    every = run_key_results(app)
    for kr in every:
        own.setdefault(f"{kr.cycle.name}/{kr.objective_key}", set()).update(kr.destinations)
    # a parent objective goes wherever one of its children goes (alignment links need it)
    objectives = with_ancestors(app.mappings.objectives, own)
    contributions = contribution_keys(app)
    for name in sorted(app.connectors):
        krs = [kr for kr in every if name in kr.destinations]
        out[name, "key_result"] = [kr.full_key for kr in krs]
        out[name, "objective"] = sorted(k for k, found in objectives.items() if name in found)
        out[name, "check_in"] = [
            f"{kr.full_key}/{as_of.isoformat()}" for kr in krs if kr.cycle.contains(as_of)
        ]
        out[name, "contribution"] = sorted(
            key for kr in krs if kr.breakdown for key in contributions.get(kr.full_key, [])
        )
    return out


def read_back_all(
    app: App, as_of: date = AS_OF
) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Every objective, key-result and check-in record of ``app``'s mappings, read back by key."""
    return {
        (name, obj): app.connectors[name].read_back(OBJECTS[obj], keys)
        for (name, obj), keys in expected_keys(app, as_of).items()
    }


class _PinnedCA(HTTPAdapter):
    """Verify with the sandbox's CA even when ``REQUESTS_CA_BUNDLE`` names another."""

    def __init__(self, ca: str) -> None:
        self.ca = ca
        super().__init__()

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["verify"] = self.ca
        return super().send(request, **kwargs)


@dataclass
class Sandbox:
    """Running sandbox CRMs and a folder holding configurations and state stores for them."""

    group: SandboxGroup
    folder: Path
    registry: PluginRegistry
    apps: list[App] = field(default_factory=list)

    @property
    def clock(self) -> Callable[[], datetime]:
        """The CRMs' clock (it starts at ``MOMENT`` and runs in real time)."""
        return self.group.sandboxes["salesforce"].clock  # type: ignore[attr-defined,no-any-return]

    def write_config(self, name: str, extra: str = "") -> Path:
        """``<name>.yaml`` (and ``<name>.env``) for this sandbox, with its own state store."""
        config = self.folder / f"{name}.yaml"
        write_config(self.group, config, store_url=self.store_url(name))
        if extra:
            with config.open("a", encoding="utf-8") as out:
                out.write(extra)
        return config

    def store_url(self, name: str) -> str:
        """The state store of configuration ``name``."""
        return f"sqlite:///{self.folder / f'{name}-state.db'}"

    def app(self, config: Path, mappings: Path | None = MAPPINGS) -> App:
        """An okrsync App in this process on ``config``, wired as the demo wires it."""
        settings = load_config(config, mappings, registry=self.registry, env={}, log=False)
        loaded = load_mappings_for(settings, self.registry)
        app = App(
            settings,
            self.registry,
            loaded,
            open_store(settings.store_url.get_secret_value()),
            connect(settings, self.registry, set(settings.connectors), self.clock),
            self.clock,
        )
        self.apps.append(app)
        return app

    @contextlib.contextmanager
    def salesforce(self) -> Iterator[Salesforce]:
        """simple-salesforce on the Salesforce sandbox, as the integration user."""
        info = self.group.sandboxes["salesforce"].info()
        with requests.Session() as session:
            session.mount("https://", _PinnedCA(info["ca_cert"]))
            yield Salesforce(
                instance_url=info["instance_url"], session_id=info["session_id"], session=session
            )

    def okr_keys(self) -> dict[tuple[str, str], Counter[str]]:
        """Keys of every record of okrsync's objects in each CRM, listed with the real clients."""
        found: dict[tuple[str, str], Counter[str]] = {}
        with self.salesforce() as sf:
            for obj, sobject in PHYSICAL["salesforce"].items():
                soql = f"SELECT Id, OKR_Key__c FROM {sobject}"  # noqa: S608  (our object names)
                rows = sf.query_all(soql)["records"]
                found["salesforce", obj] = Counter(str(r["OKR_Key__c"]) for r in rows)
        hs_info = self.group.sandboxes["hubspot"].info()
        hs = HubSpot(access_token=hs_info["access_token"], host=hs_info["host"])
        for obj, object_type in PHYSICAL["hubspot"].items():
            keys: Counter[str] = Counter()
            after = None
            while True:
                page = hs.crm.objects.basic_api.get_page(
                    object_type=object_type, limit=100, properties=["okr_key"], after=after
                )
                keys.update(str(r.properties.get("okr_key")) for r in page.results)
                if page.paging is None or page.paging.next is None:
                    break
                after = page.paging.next.after
            found["hubspot", obj] = keys
        return found

    def stop(self) -> None:
        """Close the apps, stop the CRMs."""
        for app in self.apps:
            app.close()
        self.group.stop()


@pytest.fixture(scope="module")
def start_sandbox(
    tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry
) -> Iterator[Callable[[str], Sandbox]]:
    """Start sandbox CRMs seeded with ``SEED``/``SIZE`` as of ``MOMENT``; all stopped at teardown."""
    started: list[Sandbox] = []

    def start(name: str) -> Sandbox:
        group = start_sandboxes(SandboxOptions(seed=SEED, size=SIZE, as_of=MOMENT))
        sandbox = Sandbox(group, tmp_path_factory.mktemp(name), registry)
        started.append(sandbox)
        return sandbox

    try:
        yield start
    finally:
        for sandbox in started:
            sandbox.stop()


def provision(app: App) -> dict[str, int]:
    """Create okrsync's objects in every CRM of ``app``; changes made per connector."""
    return {name: len(c.provision(OKR_OBJECTS)) for name, c in sorted(app.connectors.items())}
