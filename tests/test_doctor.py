"""`okrsync doctor`: all green on a ready sandbox; each broken set-up named, with its fix, and green again once fixed."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from dataclasses import dataclass
from textwrap import dedent
from typing import TYPE_CHECKING, Any

import pytest
import requests
from simple_salesforce import Salesforce
from typer.testing import CliRunner

from okrsync.app import connect, load_config
from okrsync.cli import app
from okrsync.crm_objects import OKR_OBJECTS
from okrsync.state.db import SCHEMA_VERSION, open_store
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from okrsync.plugins import PluginRegistry
    from okrsync_hubspot_sandbox import RunningHubSpotSandbox
    from okrsync_salesforce_sandbox import RunningSalesforceSandbox
    from okrsync_sandbox.runner import SandboxGroup

runner = CliRunner()
KNOWN = "katrin.weber@acme.example"
"""A person who is a user of both sandbox CRMs."""
MAPPING = dedent(f"""\
    version: 1
    cycle: {{name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}}
    objectives:
      - key: company
        title: Grow
        owner: {{user: {KNOWN}}}
        key_results:
          - {{key: deals, title: Deals, source: salesforce, metric: {{count: Opportunity}}, target: 10}}
          - {{key: pipeline, title: Pipeline, source: salesforce, metric: pipeline_value, target: 9}}
      - key: team
        title: Happy customers
        aligns_to: company
        owner: {{team: EMEA Sales}}
        key_results:
          - {{key: nps, title: NPS, source: hubspot, metric: nps, start: 0, target: 50}}
""")


@dataclass
class World:
    """Sandbox CRMs, a configuration pointing at them, and the mappings folder it names."""

    group: SandboxGroup
    config: Path
    folder: Path

    @property
    def salesforce(self) -> RunningSalesforceSandbox:
        """The Salesforce sandbox."""
        box: Any = self.group.sandboxes["salesforce"]
        return box  # type: ignore[no-any-return]

    @property
    def hubspot(self) -> RunningHubSpotSandbox:
        """The HubSpot sandbox."""
        box: Any = self.group.sandboxes["hubspot"]
        return box  # type: ignore[no-any-return]

    def mappings(self, text: str, name: str = "maps") -> Path:
        """A mappings folder holding ``text`` as its one file."""
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        (folder / "q3.yaml").write_text(text, encoding="utf-8")
        return folder


def make_world(folder: Path, **extra: Any) -> World:
    """Both sandboxes (small data) and a configuration with the default mappings."""
    group = start_sandboxes(SandboxOptions(size=300, seed=3, extra=extra))
    config = folder / "okrsync.yaml"
    world = World(group, config, folder)
    write_config(group, config, store_url=f"sqlite:///{folder / 'state.db'}")
    config.write_text(
        config.read_text() + f"mappings: {world.mappings(MAPPING)}\n", encoding="utf-8"
    )
    return world


def provision(world: World, registry: PluginRegistry) -> None:
    """Provision both sandboxes and create the state store, as `okrsync provision` does."""
    settings = load_config(world.config, registry=registry, env={}, log=False)
    open_store(settings.store_url.get_secret_value()).dispose()
    for connector in connect(settings, registry, set(settings.connectors)).values():
        connector.provision(OKR_OBJECTS)
        connector.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry) -> Iterator[World]:
    """Provisioned sandboxes, shared by the tests that break one thing and mend it again."""
    made = make_world(tmp_path_factory.mktemp("doctor"))
    provision(made, registry)
    yield made
    made.group.stop()


def doctor(
    world: World, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """`okrsync doctor --json` against the world: its exit code and report."""
    result = runner.invoke(
        app, ["doctor", "--config", str(world.config), "--json", *args], env=env or {}
    )
    assert result.stdout.strip(), result.output
    return result.exit_code, json.loads(result.stdout)


def checks(data: dict[str, Any], scope: str) -> dict[str, dict[str, Any]]:
    """The checks of one section, by name."""
    return {c["check"]: c for c in data["checks"] if c["scope"] == scope}


def statuses(data: dict[str, Any], scope: str) -> dict[str, str]:
    """The status of each check of one section."""
    return {name: c["status"] for name, c in checks(data, scope).items()}


def failed(data: dict[str, Any]) -> set[tuple[str, str]]:
    """``(section, check)`` of every failed check."""
    return {(c["scope"], c["check"]) for c in data["checks"] if c["status"] == "fail"}


def test_a_ready_set_up_is_all_green(world: World) -> None:
    """Every check passes, exit 0, the checklist fits 80 columns and says who each login is."""
    result = runner.invoke(app, ["doctor", "--config", str(world.config)], env={})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # 80 columns, but a path is never cut: a line may only be longer for one
    assert all(len(line) <= 80 or "/" in line for line in lines), result.stdout
    assert max(len(line) for line in lines if "/" not in line) <= 80
    assert lines[-1].startswith("Ready: 17 of 17 checks passed"), result.stdout
    assert "integration@okrsync_sandbox" in result.stdout
    assert f"portal {world.hubspot.app.settings.portal_id}" in result.stdout
    code, data = doctor(world)
    assert code == 0
    assert data["ok"] is True
    assert data["summary"] == {"pass": 17, "warn": 0, "fail": 0, "skip": 0}
    assert list(statuses(data, "salesforce")) == [
        "auth",
        "api_version",
        "quota",
        "objects",
        "fields",
        "metrics",
        "owners",
    ]
    assert list(statuses(data, "hubspot")) == [
        "auth",
        "quota",
        "scopes",
        "objects",
        "fields",
        "metrics",
        "owners",
    ]
    login = checks(data, "salesforce")["auth"]["facts"]
    assert login["username"] == "integration@okrsync_sandbox"
    assert login["org_id"].startswith("00D")
    quota = checks(data, "salesforce")["quota"]["facts"]
    assert quota["limit"] == 100_000
    assert quota["reserve"] == 10_000
    assert checks(data, "okrsync")["store"]["facts"]["schema_version"] == SCHEMA_VERSION
    assert checks(data, "salesforce")["owners"]["detail"] == "the owner e-mail matches a user"
    for secret in (world.salesforce.session_id, world.hubspot.access_token):
        assert secret not in result.output
        assert secret not in json.dumps(data)


def test_unprovisioned_objects_fail_until_okrsync_provision(tmp_path: Path) -> None:
    """Before provisioning, okrsync's objects fail in both CRMs, with `okrsync provision` as the fix; after it, all pass."""
    fresh = make_world(tmp_path)
    try:
        code, data = doctor(fresh)
        assert code == 2
        assert failed(data) == {("salesforce", "objects"), ("hubspot", "objects")}
        salesforce = checks(data, "salesforce")["objects"]
        assert salesforce["problems"] == [
            "OKR_Objective__c: not provisioned",
            "OKR_Key_Result__c: not provisioned",
            "OKR_Check_In__c: not provisioned",
            "OKR_Contribution__c: not provisioned",
        ]
        assert salesforce["fix"].startswith("run `okrsync provision`")
        hubspot = checks(data, "hubspot")["objects"]
        assert "create_object okr_objective" in hubspot["problems"][0]
        assert hubspot["fix"].startswith("run `okrsync provision`")
        # the rest of each CRM is still checked: the objects are not what it needs to read
        assert statuses(data, "salesforce")["fields"] == "pass"
        result = runner.invoke(app, ["provision", "--config", str(fresh.config)], env={})
        assert result.exit_code == 0, result.output
        code, data = doctor(fresh)
        assert (code, failed(data)) == (0, set())
    finally:
        fresh.group.stop()


def salesforce_client(box: RunningSalesforceSandbox) -> Salesforce:
    """simple-salesforce on the Salesforce sandbox, as an admin would use it."""
    session = requests.Session()
    session.verify = str(box.ca_file)
    session.trust_env = False
    return Salesforce(instance_url=box.instance_url, session_id=box.session_id, session=session)


def test_a_user_without_field_access_is_named_and_provision_grants_it(world: World) -> None:
    """A field the integration user may only read fails okrsync's objects (field-level security) until provision grants edit again."""
    box = world.salesforce
    sf = salesforce_client(box)
    row = sf.query("SELECT Id FROM FieldPermissions WHERE Field = 'OKR_Key_Result__c.Score__c'")[
        "records"
    ][0]
    box.restrict_field("OKR_Key_Result__c.Score__c", read=True, edit=False)
    try:
        code, data = doctor(world)
        assert code == 0  # the profile lacks it, but the okrsync permission set grants it
        sf.FieldPermissions.update(row["Id"], {"PermissionsEdit": False})  # an admin revokes it
        code, data = doctor(world)
        assert code == 2
        assert failed(data) == {("salesforce", "objects")}
        objects = checks(data, "salesforce")["objects"]
        assert objects["problems"] == [
            (
                "OKR_Key_Result__c.Score__c: integration@okrsync_sandbox may read it but not edit "
                "it (field-level security)"
            )
        ]
        assert "`okrsync` permission set" in objects["fix"]
        assert "Set Field-Level Security" in objects["fix"]
        result = runner.invoke(app, ["provision", "--config", str(world.config)], env={})
        assert result.exit_code == 0, result.output
        assert "grant_access OKR_Key_Result__c.Score__c" in result.stdout
        code, data = doctor(world)
        assert (code, failed(data)) == (0, set())
    finally:
        box.lift_restrictions()
        sf.session.close()


def test_missing_hubspot_scopes_are_named_with_why_and_how_to_add_them(world: World) -> None:
    """A private app without the owners and custom-object scopes fails scopes, objects and owners, each naming the scope."""
    world.hubspot.revoke_scopes("crm.objects.owners.read", "crm.objects.custom.write")
    try:
        code, data = doctor(world)
        assert code == 2
        assert failed(data) == {("hubspot", "scopes"), ("hubspot", "owners")}
        scopes = checks(data, "hubspot")["scopes"]
        assert scopes["facts"]["missing"] == ["crm.objects.custom.write", "crm.objects.owners.read"]
        assert scopes["problems"] == [
            "crm.objects.custom.write: okrsync writes objectives, key results, check-ins",
            "crm.objects.owners.read: records get their owner, found by e-mail",
        ]
        assert "Private Apps → the app → Scopes" in scopes["fix"]
        assert "`crm.objects.owners.read`" in checks(data, "hubspot")["owners"]["detail"]
    finally:
        world.hubspot.restore_scopes()
    assert doctor(world)[0] == 0


def test_an_expired_session_fails_the_login_and_skips_what_needs_it(world: World) -> None:
    """A rejected session id names the variable to renew; the checks needing the org are skipped; the session never shows."""
    box = world.salesforce
    expired = box.new_session()
    box.expire_session(expired)
    variable = "OKRSYNC_CONNECTORS__SALESFORCE__SESSION_ID"
    code, data = doctor(world, env={variable: expired})
    assert code == 2
    assert failed(data) == {("salesforce", "auth")}
    login = checks(data, "salesforce")["auth"]
    assert "INVALID_SESSION_ID" in login["detail"]
    assert variable in login["fix"]
    assert "`auth: jwt`" in login["fix"]
    assert set(statuses(data, "salesforce").values()) == {"fail", "skip"}
    assert checks(data, "salesforce")["owners"]["detail"] == "not checked: login failed"
    assert statuses(data, "hubspot")["auth"] == "pass"
    result = runner.invoke(app, ["doctor", "--config", str(world.config)], env={variable: expired})
    assert expired not in result.output
    assert expired not in json.dumps(data)
    code, _ = doctor(world, env={variable: box.new_session()})
    assert code == 0


def test_a_jwt_login_the_app_does_not_allow_names_the_pre_authorisation(world: World) -> None:
    """The JWT bearer flow refused for a user the connected app is not pre-authorised for fails the login with the setup step; allowed, it passes."""
    box = world.salesforce
    prefix = "OKRSYNC_CONNECTORS__SALESFORCE__"
    jwt = {
        f"{prefix}{key.upper()}": str(value)
        for key, value in box.connector_settings(auth="jwt").items()
        if key != "type"
    }
    jwt[f"{prefix}PRIVATE_KEY"] = box.connector_secrets(auth="jwt")["private_key"]
    box.app.sessions.preauthorized = set()
    try:
        code, data = doctor(world, env=jwt)
        assert code == 2
        assert failed(data) == {("salesforce", "auth")}
        login = checks(data, "salesforce")["auth"]
        assert "invalid_grant" in login["detail"]
        assert "pre-authorised for the app (docs/salesforce-setup.md, step 3)" in login["fix"]
        assert "PRIVATE KEY" not in json.dumps(data)
    finally:
        box.app.sessions.preauthorized = None
    code, data = doctor(world, env=jwt)
    assert code == 0
    assert checks(data, "salesforce")["auth"]["facts"]["auth"] == "jwt"


def test_an_unreachable_crm_is_reported_in_seconds(world: World) -> None:
    """An instance URL nothing answers at fails the login as unreachable after one retry, not the sync's back-off chain."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    began = time.monotonic()
    code, data = doctor(
        world, env={"OKRSYNC_CONNECTORS__SALESFORCE__INSTANCE_URL": f"https://127.0.0.1:{port}"}
    )
    assert time.monotonic() - began < 15  # the sync's 5 retries would back off for 31 s
    assert code == 2
    assert failed(data) == {("salesforce", "auth")}
    login = checks(data, "salesforce")["auth"]
    assert login["detail"].startswith("Salesforce cannot be reached: ")
    assert "`instance_url`" in login["fix"]


def test_a_spent_or_reserved_quota_fails_the_quota_check(world: World) -> None:
    """A spent Salesforce day, a day under okrsync's reserve and a spent HubSpot day each fail the quota, with the wait as the fix."""
    box = world.salesforce
    box.app.quota.spend()
    try:
        code, data = doctor(world)
        assert code == 2
        assert failed(data) == {("salesforce", "quota")}
        quota = checks(data, "salesforce")["quota"]
        assert "daily API request limit is spent" in quota["detail"]
        assert "rolling 24 hours" in quota["fix"]
        assert statuses(data, "salesforce")["objects"] == "skip"
        box.reset_quota(100)
        for _ in range(15):
            box.app.quota.take()
        reserve = {"OKRSYNC_CONNECTORS__SALESFORCE__QUOTA_RESERVE_PERCENT": "90"}
        code, data = doctor(world, env=reserve)
        assert failed(data) == {("salesforce", "quota")}
        quota = checks(data, "salesforce")["quota"]
        assert quota["detail"].startswith("84 of 100 requests left today; reserve 90 % (90)")
        assert "`quota_reserve_percent`" in quota["fix"]
    finally:
        box.reset_quota(100_000)
    world.hubspot.spend_daily_quota()
    try:
        code, data = doctor(world)
        assert failed(data) == {("hubspot", "quota")}
        assert statuses(data, "hubspot")["auth"] == "skip"
        assert "midnight" in checks(data, "hubspot")["quota"]["fix"]
    finally:
        world.hubspot.reset_daily_quota()
    assert doctor(world)[0] == 0


@pytest.mark.parametrize(
    ("version", "why"),
    [("30.0", "30.0 is retired or unknown"), ("99.0", "99.0 is newer than the org serves")],
)
def test_an_api_version_the_org_does_not_serve_is_named(
    world: World, version: str, why: str
) -> None:
    """An api_version the org does not list fails with the versions it serves and the newest as the fix."""
    variable = "OKRSYNC_CONNECTORS__SALESFORCE__API_VERSION"
    code, data = doctor(world, env={variable: version})
    assert code == 2
    assert failed(data) == {("salesforce", "api_version")}
    check = checks(data, "salesforce")["api_version"]
    assert check["detail"] == f"{why}; the org serves 31.0 to 62.0"
    assert check["fix"] == f"set `api_version` ({variable}) to one the org serves, e.g. 62.0"
    assert statuses(data, "salesforce")["quota"] == "skip"


def test_an_unknown_owner_e_mail_is_located_in_the_mapping(world: World) -> None:
    """An owner e-mail no user of the CRM has is named at its file:line:col, in each CRM the record goes to."""
    text = MAPPING.replace(KNOWN, "nobody@acme.example")
    folder = world.mappings(text, "unknown-owner")
    code, data = doctor(world, "--mappings", str(folder))
    assert code == 2
    assert failed(data) == {("salesforce", "owners"), ("hubspot", "owners")}
    owners = checks(data, "salesforce")["owners"]
    assert owners["problems"] == [
        (
            f"{folder / 'q3.yaml'}:6:19: objectives[0].owner.user: no active user of salesforce "
            "has the e-mail nobody@acme.example"
        )
    ]
    assert owners["detail"] == "1 of 1 owner e-mails match no user"
    assert owners["fix"].startswith("correct the e-mail where the mapping writes it")


def test_a_mapped_field_the_crm_lacks_or_hides_is_located(world: World) -> None:
    """A misspelt field, and one field-level security hides, fail the mapped fields where the mapping names them."""
    text = MAPPING.replace("metric: {count: Opportunity}", "metric: {sum: Opportunity.Amout}")
    folder = world.mappings(text, "bad-field")
    code, data = doctor(world, "--mappings", str(folder))
    assert code == 2
    assert failed(data) == {("salesforce", "fields")}
    fields = checks(data, "salesforce")["fields"]
    assert fields["problems"] == [
        (
            f"{folder / 'q3.yaml'}:8:70: objectives[0].key_results[0].metric.sum: salesforce "
            "has no field `Opportunity.Amout`"
        )
    ]
    assert fields["fix"].startswith("correct the name where the mappings write it")
    world.salesforce.restrict_field("Opportunity.Amount", read=False)
    try:
        code, data = doctor(world)
        assert failed(data) == {("salesforce", "fields"), ("salesforce", "metrics")}
        assert any(
            "built-in metric `pipeline_value`" in p
            for p in checks(data, "salesforce")["fields"]["problems"]
        )
    finally:
        world.salesforce.lift_restrictions()


def test_a_store_of_a_newer_okrsync_fails_and_names_the_upgrade(
    world: World, tmp_path: Path
) -> None:
    """A state store with a newer schema version fails; an unreachable one fails with where to look."""
    newer = tmp_path / "newer.db"
    open_store(f"sqlite:///{newer}").dispose()
    with sqlite3.connect(newer) as db:
        db.execute(
            "INSERT INTO okrsync_schema_version (version, applied_at) VALUES (?, '2027-01-01')",
            (SCHEMA_VERSION + 1,),
        )
    code, data = doctor(world, env={"OKRSYNC_STORE_URL": f"sqlite:///{newer}"})
    assert (code, failed(data)) == (2, {("okrsync", "store")})
    store = checks(data, "okrsync")["store"]
    assert f"schema version {SCHEMA_VERSION + 1}, newer than this okrsync reads" in store["detail"]
    assert store["fix"].startswith("upgrade okrsync")
    missing = tmp_path / "no-such-folder" / "state.db"
    code, data = doctor(world, env={"OKRSYNC_STORE_URL": f"sqlite:///{missing}"})
    assert failed(data) == {("okrsync", "store")}
    assert (
        f"the folder {missing.parent} does not exist" in checks(data, "okrsync")["store"]["detail"]
    )


def test_a_plain_org_names_the_metrics_it_lacks_and_how_to_map_them(tmp_path: Path) -> None:
    """On a plain org, churn and NPS are named with an example override: a warning when unused, a failure when used."""
    plain = make_world(tmp_path, org="plain")
    try:
        result = runner.invoke(app, ["provision", "--config", str(plain.config)], env={})
        assert result.exit_code == 0, result.output
        code, data = doctor(plain)
        assert code == 0  # no key result uses them: a warning
        metrics = checks(data, "salesforce")["metrics"]
        assert metrics["status"] == "warn"
        assert {"customer_churn_rate", "nps"} <= set(metrics["facts"]["uncomputable"])
        assert {
            (
                "customer_churn_rate: no field `Account.Churned_On__c`, no field "
                "`Account.Customer_Since__c`"
            ),
            "nps: no object `NPS_Response__c`",
        } <= set(metrics["problems"])
        assert "metrics:\n    salesforce:\n      customer_churn_rate:" in metrics["fix"]
        assert "<your object>" in metrics["fix"]
        churn = MAPPING.replace(
            "metric: pipeline_value, target: 9",
            "metric: customer_churn_rate, start: 15%, target: 8%",
        )
        code, data = doctor(plain, "--mappings", str(plain.mappings(churn, "churn")))
        assert code == 2
        assert failed(data) == {("salesforce", "metrics"), ("salesforce", "fields")}
        assert checks(data, "salesforce")["metrics"]["facts"]["used"] == ["customer_churn_rate"]
    finally:
        plain.group.stop()


def test_broken_configuration_and_mappings_are_located(world: World) -> None:
    """A bad configuration stops at its located problem; bad mappings skip only what reads them."""
    config = world.folder / "bad.yaml"
    config.write_text(world.config.read_text() + "workspce: x\n", encoding="utf-8")
    result = runner.invoke(app, ["doctor", "--config", str(config), "--json"], env={})
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [c["check"] for c in data["checks"]] == ["config"]
    assert "workspce" in data["checks"][0]["problems"][0]
    assert str(config) in data["checks"][0]["problems"][0]
    folder = world.mappings(MAPPING.replace("target: 10", "target: ten"), "bad-mapping")
    code, data = doctor(world, "--mappings", str(folder))
    assert code == 2
    assert failed(data) == {("okrsync", "mappings")}
    assert checks(data, "okrsync")["mappings"]["problems"][0].startswith(f"{folder / 'q3.yaml'}:")
    assert statuses(data, "salesforce") == {
        "auth": "pass",
        "api_version": "pass",
        "quota": "pass",
        "objects": "pass",
        "fields": "skip",
        "metrics": "skip",
        "owners": "skip",
    }


def test_doctor_changes_nothing(world: World, tmp_path: Path) -> None:
    """Doctor writes no record to either CRM and creates no state store."""
    store = tmp_path / "not-yet" / "state.db"
    store.parent.mkdir()
    before = world.group.accounting.snapshot()
    code, data = doctor(world, env={"OKRSYNC_STORE_URL": f"sqlite:///{store}"})
    assert code == 0
    assert (
        "does not exist yet: the first run creates it" in checks(data, "okrsync")["store"]["detail"]
    )
    assert not store.exists()
    after = world.group.accounting.snapshot()
    for crm in ("salesforce", "hubspot"):
        assert after[crm]["calls"] > before[crm]["calls"], crm
        assert after[crm]["records_written"] == before[crm]["records_written"], crm
