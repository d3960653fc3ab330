"""The setup guides: every command they show runs (against the sandbox CRMs), or says why it cannot."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ruamel.yaml import YAML
from typer.testing import CliRunner

from okrsync.cli import app
from okrsync.config import load_settings
from okrsync.plugins import MetadataExporter, PluginRegistry
from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ("salesforce-setup.md", "hubspot-setup.md")
NEEDS_AN_ORG = {"sf org login web --alias okrs --set-default"}
"""Commands that only a real Salesforce org can answer (a browser login)."""
MAPPING = """\
version: 1
cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: company
    title: Grow
    key_results:
      - {key: deals, title: Deals, source: salesforce, metric: {count: Opportunity}, target: 10}
  - key: team
    title: Happy customers
    aligns_to: company
    key_results:
      - {key: nps, title: NPS, source: hubspot, metric: nps, start: 0, target: 50}
"""
runner = CliRunner()


def blocks(guide: str, language: str) -> list[str]:
    """The fenced code blocks of one language in a guide."""
    text = (ROOT / "docs" / guide).read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def commands(guide: str) -> list[str]:
    """Every shell command a guide shows, one per line."""
    return [
        line.strip() for block in blocks(guide, "sh") for line in block.splitlines() if line.strip()
    ]


def test_guides_show_only_commands_a_test_runs() -> None:
    """Each command is openssl, okrsync or sf: the kinds the tests below run or check."""
    for guide in GUIDES:
        found = commands(guide)
        assert found, guide
        for command in found:
            assert command.split()[0] in {"openssl", "okrsync", "sf"}, (guide, command)
    assert "okrsync doctor" in commands("salesforce-setup.md")
    assert commands("salesforce-setup.md")[-2:] == ["okrsync doctor", "okrsync sync"]
    assert commands("hubspot-setup.md")[-2:] == ["okrsync doctor", "okrsync sync"]


def test_the_certificate_commands_make_a_key_and_its_certificate(tmp_path: Path) -> None:
    """The openssl command makes a PEM key the connector loads and a certificate of that key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed on this machine")
    for command in (c for c in commands("salesforce-setup.md") if c.startswith("openssl")):
        result = subprocess.run(  # noqa: S603
            shlex.split(command), cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
    key = serialization.load_pem_private_key(
        (tmp_path / "okrsync-salesforce.key").read_bytes(), password=None
    )
    cert = x509.load_pem_x509_certificate((tmp_path / "okrsync-salesforce.crt").read_bytes())
    assert cert.public_key() == key.public_key()
    assert cert.subject.rfc4514_string() == "CN=okrsync"


def test_the_documented_configuration_loads(tmp_path: Path) -> None:
    """The guide's connector configuration is valid, with the private key from the environment."""
    [block] = blocks("salesforce-setup.md", "yaml")
    data = YAML(typ="safe").load(block)
    config = tmp_path / "okrsync.yaml"
    config.write_text(block, encoding="utf-8")
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot checked here\n-----END PRIVATE KEY-----\n")
    settings = load_settings(
        config,
        env={"OKRSYNC_CONNECTORS__SALESFORCE__PRIVATE_KEY_FILE": str(key)},
        registry=PluginRegistry.from_entry_points(),
    )
    instance = settings.connectors["salesforce"]
    assert instance.type == "salesforce"
    assert (
        instance.settings.model_dump()["username"] == data["connectors"]["salesforce"]["username"]
    )


def test_the_okrsync_and_sf_commands_run_against_the_sandbox(tmp_path: Path) -> None:
    """validate, provision (dry run, then real), export-metadata, doctor and sync succeed; the deploy command is the one provision prints."""
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "q3.yaml").write_text(MAPPING)
    group = start_sandboxes(SandboxOptions(size=300, seed=3))
    try:
        config = tmp_path / "okrsync.yaml"
        write_config(group, config, store_url=f"sqlite:///{tmp_path / 'state.db'}")
        config.write_text(config.read_text() + f"mappings: {maps}\n")
        printed: list[str] = []
        seen: set[str] = set()
        for guide in GUIDES:
            for command in commands(guide):
                if command in NEEDS_AN_ORG or command in seen:
                    continue
                seen.add(command)
                words = shlex.split(command)
                if words[0] == "openssl":
                    continue  # run by the certificate test
                if words[0] == "sf":
                    assert command.startswith("sf project deploy start --source-dir "), command
                    continue  # checked against what provision printed, below
                args = words[1:]
                if args[0] in {"validate", "provision", "doctor", "sync"}:
                    args += ["--config", str(config)]
                if args[0] == "sync":
                    args += ["--as-of", "2026-08-17"]
                if args[0] == "export-metadata":
                    args[args.index("--out") + 1] = str(tmp_path / "okrsync-sfdx")
                result = runner.invoke(app, args, env={})
                assert result.exit_code == 0, (command, result.output)
                printed += result.stdout.splitlines()
    finally:
        group.stop()
    assert {"okrsync validate", "okrsync provision", "okrsync doctor", "okrsync sync"} <= seen
    assert any(line.startswith("Ready: ") for line in printed)
    deploy = [line.strip() for line in printed if line.strip().startswith("sf project deploy")]
    plugin = PluginRegistry.from_entry_points().get("salesforce")
    assert isinstance(plugin, MetadataExporter)
    assert plugin.deploy_command() in deploy
    assert (tmp_path / "okrsync-sfdx" / "sfdx-project.json").is_file()
