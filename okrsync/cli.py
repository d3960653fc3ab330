"""The ``okrsync`` command line (the composition root for each command).

Exit codes (:mod:`okrsync.outcome`): 0 everything synced, 1 partly synced,
2 bad input (the located problems on stderr, one per line), 3 nothing synced
or the command failed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from okrsync import __version__
from okrsync.errors import ConfigurationError, OkrsyncError
from okrsync.outcome import ExitCode, cycle_exit_code
from okrsync.plugins import MetadataExporter, PluginRegistry, writes_okr_objects

if TYPE_CHECKING:
    from okrsync.app import App
    from okrsync.catalog import Catalog
    from okrsync.config import Settings
    from okrsync.engine import CycleReport
    from okrsync.model import MappingSet

# The store, the engine, the settings models and the logging set-up are imported by
# the commands that use them, so `okrsync --help` starts without them.


def load_config(*args: Any, **kwargs: Any) -> Settings:
    """:func:`okrsync.app.load_config`."""
    from okrsync.app import load_config as load  # noqa: PLC0415  (lazy: see above)

    return load(*args, **kwargs)


def load_mappings_for(settings: Settings, registry: PluginRegistry) -> MappingSet:
    """:func:`okrsync.app.load_mappings_for`."""
    from okrsync.app import load_mappings_for as load  # noqa: PLC0415  (lazy: see above)

    return load(settings, registry)


def plugin_catalogs(settings: Settings, registry: PluginRegistry) -> dict[str, Catalog]:
    """:func:`okrsync.app.plugin_catalogs`."""
    from okrsync.app import plugin_catalogs as catalogs  # noqa: PLC0415  (lazy: see above)

    return catalogs(settings, registry)


def configure_logging(*args: Any, **kwargs: Any) -> None:
    """:func:`okrsync.logging.configure_logging`."""
    from okrsync.logging import configure_logging as configure  # noqa: PLC0415  (lazy)

    configure(*args, **kwargs)


def json_schema() -> dict[str, Any]:
    """:func:`okrsync.mapping.schema.json_schema`."""
    from okrsync.mapping.schema import json_schema as schema  # noqa: PLC0415  (lazy)

    return schema()


__all__ = ["app", "exit_for_cycle", "main"]

EXIT_INVALID = ExitCode.BAD_INPUT
EXIT_FAILED = ExitCode.NOTHING_SYNCED

app = typer.Typer(
    name="okrsync",
    help=(
        "Keep OKR key results in step with the CRM: pull, score, write back.\n\n"
        "Exit codes of plan, sync, check-in, provision and doctor: 0 everything synced, "
        "1 partly synced (some key results or writes failed), 2 bad input (configuration, "
        "mappings or flags; each problem on stderr as file:line:col), 3 nothing synced "
        "(no key result computed, no write landed, or the command failed). "
        "doctor: 0 ready, 2 a check failed."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: drawing it with rich would cost --help 0.3 s of imports
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file [default: $OKRSYNC_CONFIG, else config/okrsync.yaml if present].",
        dir_okay=False,
    ),
]
MappingsOption = Annotated[
    Path | None,
    typer.Option(
        "--mappings",
        "-m",
        help="Mappings folder [default: from the configuration].",
        file_okay=False,
    ),
]


def _fail(error: OkrsyncError) -> typer.Exit:
    """Print an error (one problem per line) and choose the exit code."""
    if isinstance(error, ConfigurationError) and error.problems:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
    else:
        typer.echo(f"error: {error}", err=True)
    return typer.Exit(EXIT_INVALID if isinstance(error, ConfigurationError) else EXIT_FAILED)


def exit_for_cycle(report: dict[str, object]) -> None:
    """End a ``plan``/``sync``/``check-in`` command with the exit code its JSON report earns.

    Raises:
        typer.Exit: Unless everything synced (exit code 0).
    """
    code = cycle_exit_code(report)
    if code is not ExitCode.SYNCED:
        raise typer.Exit(int(code))


@app.command()
def validate(config: ConfigOption = None, mappings: MappingsOption = None) -> None:
    """Check the configuration and every mapping file; print each problem as file:line:col."""
    try:
        registry = PluginRegistry.from_entry_points()
        # nothing here logs (every problem is printed), so logging is not set up: it is
        # most of the time a validation would take (structlog draws with rich)
        settings = load_config(config, mappings, registry=registry, log=False)
        loaded = load_mappings_for(settings, registry)
    except OkrsyncError as error:
        raise _fail(error) from None
    krs = sum(1 for _ in loaded.key_results())
    cycles = ", ".join(c.name for c in loaded.cycles)
    typer.echo(
        f"{settings.mappings}: valid — {len(loaded.objectives)} objectives, {krs} key results, "
        f"cycles {cycles or 'none'}, {len(loaded.files)} files"
    )


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of mapping files (for editor autocompletion)."""
    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@app.command()
def metrics(
    config: ConfigOption = None,
    mappings: MappingsOption = None,
    source: Annotated[str | None, typer.Option(help="Only this connector instance.")] = None,
) -> None:
    """List the named metrics each connector instance offers (built-in and your own)."""
    from rich.console import Console  # noqa: PLC0415  (only this command draws tables)
    from rich.table import Table  # noqa: PLC0415

    from okrsync.mapping.loader import catalogs_for  # noqa: PLC0415

    try:
        registry = PluginRegistry.from_entry_points()
        settings = load_config(config, mappings, registry=registry)
        per_instance = catalogs_for(
            settings.mappings,
            sources=settings.sources(registry),
            catalogs=plugin_catalogs(settings, registry),
        )
    except OkrsyncError as error:
        raise _fail(error) from None
    table = Table("source", "metric", "unit", "nature", "description", "defined in")
    for instance, catalog in sorted(per_instance.items()):
        if source is not None and instance != source:
            continue
        for name in catalog.names():
            definition = catalog.definition(name)
            resolved = catalog.resolve(name, definition.origin)
            table.add_row(
                instance,
                name,
                str(definition.unit or resolved.unit),
                "accumulates" if resolved.accumulates else "level",
                definition.spec.description or "",
                str(definition.origin),
            )
    Console().print(table)


LOOPBACK = ("127.", "::1", "localhost")


def _need_sandbox(command: str) -> None:
    """Exit with a clear message when the sandbox distributions are not installed."""
    if importlib.util.find_spec("okrsync_sandbox") is None:
        typer.echo(
            f"error: `okrsync {command}` needs the sandbox CRMs, which this installation "
            "does not have (production images leave them out); install `okrsync-sandbox` "
            "and each connector's emulator (`okrsync-<connector>-sandbox`), "
            "or run it from a development checkout with `python3 dev.py okrsync "
            f"{command}`",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID)


@app.command()
def sandbox(  # noqa: PLR0917, C901  (typer passes one argument per CLI flag; one check per flag)
    host: Annotated[
        str, typer.Option(help="Address to serve on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="First port (0: any free ports).", min=0, max=65535)
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 1,
    size: Annotated[
        str, typer.Option(help="small, medium, large or a number of rows per CRM.")
    ] = "small",
    data: Annotated[
        Path | None,
        typer.Option(
            help="Load DATA/<connector>/*.jsonl (one folder per CRM) instead.",
            file_okay=False,
            exists=True,
        ),
    ] = None,
    faults: Annotated[
        str, typer.Option(help="Faults, e.g. latency=50ms,5xx=0.2,429=0.1,seed=7.")
    ] = "",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Show the data as of this date (YYYY-MM-DD).")
    ] = None,
    write_config: Annotated[
        Path | None,
        typer.Option(
            "--write-config",
            help="Write an okrsync config (and .env) pointing at the sandbox, with absolute "
            "paths: the mappings folder and a state store beside the config.",
            dir_okay=False,
        ),
    ] = None,
    org: Annotated[
        str,
        typer.Option(
            "--org",
            help="Salesforce org: okrsync (with churn dates and an NPS object) or plain.",
        ),
    ] = "okrsync",
    mappings: Annotated[
        Path,
        typer.Option(
            "--mappings",
            "-m",
            help="Mappings folder the written config names.",
            file_okay=False,
        ),
    ] = Path("mappings"),
) -> None:
    """Serve the sandbox CRMs (Salesforce over TLS, HubSpot) until SIGINT/SIGTERM.

    When ready, prints one JSON line with each CRM's URL and credentials and the
    admin API's URL.
    """
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    _need_sandbox("sandbox")
    from okrsync_sandbox.datafolder import DataFolderError  # noqa: PLC0415
    from okrsync_sandbox.faults import FaultSpec  # noqa: PLC0415
    from okrsync_sandbox.runner import start_sandboxes  # noqa: PLC0415
    from okrsync_sandbox.runner import write_config as write_sandbox_config  # noqa: PLC0415
    from okrsync_sandbox.server import SandboxOptions  # noqa: PLC0415

    rows: str | int = int(size) if size.isdigit() else size
    if rows not in {"small", "medium", "large"} and not isinstance(rows, int):
        typer.echo(
            f"error: --size: expected small, medium, large or a number, got {size!r}", err=True
        )
        raise typer.Exit(EXIT_INVALID)
    day = _as_of(as_of)
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) if day else None
    try:
        spec = FaultSpec.parse(faults)
    except ValueError as exc:
        typer.echo(f"error: --faults: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    if org not in {"okrsync", "plain"}:
        typer.echo(f"error: --org: expected okrsync or plain, got {org!r}", err=True)
        raise typer.Exit(EXIT_INVALID)
    if not host.startswith(LOOPBACK):
        typer.echo(f"warning: serving the sandbox on {host}, beyond this machine", err=True)
    configure_logging("warning", "auto")
    options = SandboxOptions(
        host=host,
        port=port,
        seed=seed,
        size=rows,
        data_dir=data,
        faults=spec,
        as_of=moment,
        extra={"org": org},
    )
    try:
        group = start_sandboxes(options)
    except DataFolderError as error:  # every bad line of --data, each as file:line: what
        for line in error.lines:
            typer.echo(line, err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except OkrsyncError as error:
        raise _fail(error) from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if write_config is not None:
            if not mappings.is_dir():
                typer.echo(
                    f"warning: the written config names the mappings folder "
                    f"{mappings.absolute()}, which does not exist yet",
                    err=True,
                )
            write_sandbox_config(group, write_config, mappings=mappings)
        sys.stdout.write(json.dumps(group.info()) + "\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        group.stop()


AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluate as of this date (YYYY-MM-DD) [default: today]."),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of tables.")
]


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"error: --as-of: expected a date like 2026-07-01, got {text!r}", err=True)
        raise typer.Exit(EXIT_INVALID) from None


def _explain_uncomputable(application: App) -> None:
    """Name the metrics the CRMs lack the data for, and how to map them (on stderr)."""
    from okrsync.coverage import explain, uncomputable_metrics  # noqa: PLC0415
    from okrsync.mapping.loader import catalogs_for  # noqa: PLC0415

    settings, registry = application.settings, application.registry
    catalogs = catalogs_for(
        settings.mappings,
        sources=settings.sources(registry),
        catalogs=plugin_catalogs(settings, registry),
    )
    for line in explain(uncomputable_metrics(catalogs, application.connectors)):
        typer.echo(line, err=True)


def _cycle(
    kind: str, config: Path | None, mappings: Path | None, as_of: str | None, as_json: bool
) -> None:
    """Run one plan, sync or check-in cycle and print its report."""
    from okrsync.app import build_app  # noqa: PLC0415
    from okrsync.render import print_report  # noqa: PLC0415

    day = _as_of(as_of)
    if kind == "check_in":
        _check_in_day(day)
    try:
        application = build_app(config, mappings)
    except OkrsyncError as error:
        raise _fail(error) from None
    if kind == "plan" and not as_json:
        _explain_uncomputable(application)
    try:
        report = application.engine().run(kind, day)  # type: ignore[arg-type]
    except OkrsyncError as error:
        raise _fail(error) from None
    finally:
        application.close()
    data = report.as_json()
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        units = {r.kr.full_key: r.kr.unit.value for r in report.key_results}
        print_report(data, units)
    if kind == "check_in":
        _say_checked_in(report)
    exit_for_cycle(data)


def _check_in_day(day: date | None) -> None:
    """Refuse a check-in dated in the future (a day of slack for time zones ahead of UTC)."""
    latest = datetime.now(UTC).date() + timedelta(days=1)
    if day is not None and day > latest:
        typer.echo(
            f"error: --as-of: a check-in records what happened, so it cannot be dated after "
            f"{latest}, got {day}",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID)


def _say_checked_in(report: CycleReport) -> None:
    """One line on stderr: what the check-in recorded."""
    day = report.as_of.isoformat()
    if not report.checked_in:
        typer.echo(f"warning: no key result's cycle contains {day}: nothing checked in", err=True)
        return
    note = (
        "; a later day is already synced, so only check-in records were written (a backfill)"
        if report.backfill
        else ""
    )
    typer.echo(f"checked in {report.checked_in} key results as of {day}{note}", err=True)


@app.command()
def plan(
    config: ConfigOption = None,
    mappings: MappingsOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pull and compute; write nothing to the CRM; show what a sync would change."""
    _cycle("plan", config, mappings, as_of, as_json)


@app.command()
def sync(
    config: ConfigOption = None,
    mappings: MappingsOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one full cycle: pull, compute, score, write changed records back."""
    _cycle("sync", config, mappings, as_of, as_json)


@app.command("check-in")
def check_in(
    config: ConfigOption = None,
    mappings: MappingsOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sync and record a check-in of every key result, as the daemon's check-in job does.

    A check-in for a day that has one replaces it. An earlier day than the last
    synced one is a backfill: run it for each past Monday, oldest first, to give
    the check-in history (and burn-up charts) a quarter's worth of points.
    """
    _cycle("check_in", config, mappings, as_of, as_json)


@app.command()
def run(config: ConfigOption = None, mappings: MappingsOption = None) -> None:
    """Run the daemon: scheduled syncs and check-ins, hot reload, /healthz /readyz /metrics."""
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from okrsync.app import build_app  # noqa: PLC0415
    from okrsync.daemon import Daemon  # noqa: PLC0415

    try:
        daemon = Daemon(build_app(config, mappings))
    except OkrsyncError as error:
        raise _fail(error) from None
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        daemon.stop.set()  # the running cycle stops at its next safe point
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    daemon.start()
    stop.wait()
    daemon.shutdown()


@app.command()
def provision(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would change.")
    ] = False,
) -> None:
    """Create or update okrsync's objects and fields in every configured CRM (idempotent).

    Each CRM is provisioned on its own: one that fails does not stop the others
    (exit 1 when some failed, 3 when all did).
    """
    from okrsync.app import connect  # noqa: PLC0415
    from okrsync.crm_objects import OKR_OBJECTS  # noqa: PLC0415
    from okrsync.outcome import parts_exit_code  # noqa: PLC0415
    from okrsync.state.db import open_store  # noqa: PLC0415

    try:
        registry = PluginRegistry.from_entry_points()
        settings = load_config(config, registry=registry)
        # with the store, provisioning also drops the describes the cycles keep
        db = open_store(settings.store_url.get_secret_value())
        kinds = {name: registry.get(inst.type) for name, inst in settings.connectors.items()}
        read_only = sorted(name for name, kind in kinds.items() if not writes_okr_objects(kind))
        connectors = connect(settings, registry, set(kinds) - set(read_only), db=db)
    except OkrsyncError as error:
        raise _fail(error) from None
    for name in read_only:
        typer.echo(f"{name}: read-only source, nothing to provision")
    done = failed = 0
    verb = "would change" if dry_run else "changed"
    for name, connector in sorted(connectors.items()):
        try:
            changes = connector.provision(OKR_OBJECTS, dry_run=dry_run)
        except OkrsyncError as error:
            typer.echo(f"{name}: failed: {error}", err=True)
            failed += 1
            continue
        finally:
            connector.close()
        done += 1
        typer.echo(f"{name}: {verb} {len(changes)}")
        for change in changes:
            typer.echo(f"  {change}")
        plugin = registry.get(settings.connectors[name].type)
        if isinstance(plugin, MetadataExporter):
            typer.echo(
                f"{name}: then deploy what its API cannot create (app, tabs, layouts, "
                "list views, reports, dashboard, permission sets):"
            )
            typer.echo(f"  {plugin.deploy_command()}")
    db.dispose()
    code = parts_exit_code(done, failed)
    if code:
        raise typer.Exit(int(code))


@app.command()
def doctor(
    config: ConfigOption = None,
    mappings: MappingsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check that this set-up is ready to sync; each failure with its fix (exit 0 ready, 2 not).

    The configuration, the mappings and the state store; then each configured
    CRM: the login and who it acts as, the API version, the daily quota and
    its reserve, okrsync's objects and this user's access to them, every field
    the mappings read, the named metrics' data, and the owners' e-mails.
    Changes nothing in the CRMs or the store.
    """
    from okrsync.doctor import render, run_doctor  # noqa: PLC0415

    try:
        registry = PluginRegistry.from_entry_points()
    except OkrsyncError as error:
        raise _fail(error) from None
    diagnosis = run_doctor(config, mappings, registry=registry)
    if as_json:
        sys.stdout.write(json.dumps(diagnosis.as_json()) + "\n")
    else:
        for line in render(diagnosis):
            typer.echo(line)
    if not diagnosis.ok:
        raise typer.Exit(int(diagnosis.exit_code))


@app.command("export-metadata")
def export_metadata(
    connector_type: Annotated[
        str, typer.Argument(help="Connector type whose metadata to write, e.g. salesforce.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write it to.", file_okay=False)
    ],
) -> None:
    """Write the CRM metadata a connector ships (Salesforce: its SFDX project) to a folder."""
    try:
        registry = PluginRegistry.from_entry_points()
        plugin = registry.get(connector_type)
    except OkrsyncError as error:
        raise _fail(error) from None
    if not isinstance(plugin, MetadataExporter):
        having = [n for n in registry if isinstance(registry.get(n), MetadataExporter)]
        typer.echo(
            f"error: connector type `{connector_type}` ships no metadata; "
            f"types that do: {', '.join(having) or 'none installed'}",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID)
    written = plugin.export_metadata(out)
    typer.echo(f"{connector_type}: wrote {len(written)} files to {out}")
    typer.echo(f"deploy with: {plugin.deploy_command(out)}")


@app.command()
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show the last runs, each key result's latest evaluation, and the CRMs' quota."""
    from okrsync.status import read_status  # noqa: PLC0415

    try:
        registry = PluginRegistry.from_entry_points()
        settings = load_config(config, registry=registry)
        data = read_status(settings)
    except OkrsyncError as error:
        raise _fail(error) from None
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        return
    from okrsync.status import print_status  # noqa: PLC0415

    units: dict[str, str] = {}
    rows = {row["key"]: row for row in data["key_results"]}
    try:  # the mappings say each key result's unit, start and target
        for kr in load_mappings_for(settings, registry).key_results():
            units[kr.full_key] = kr.unit.value
            if kr.full_key in rows:
                rows[kr.full_key].update(start=kr.start, target=kr.target)
    except OkrsyncError:
        pass  # broken mappings: `validate` says why; the status still shows
    print_status(data, units=units)


ReportFormat = Literal["markdown", "html"]


@app.command()
def report(
    config: ConfigOption = None,
    mappings: MappingsOption = None,
    cycle: Annotated[
        str | None, typer.Option(help="The cycle to show [default: the current one].")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write the status page to this file (self-contained HTML).",
            dir_okay=False,
        ),
    ] = None,
    output_format: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            "-f",
            help="What to print when no --html file is given: the weekly check-in digest "
            "(markdown) or the page (html).",
        ),
    ] = "markdown",
) -> None:
    """Write the status page as one HTML file, or print the weekly check-in digest."""
    from okrsync.app import build_app  # noqa: PLC0415
    from okrsync.report import UnknownCycleError, build_report, render_digest, render_page  # noqa: PLC0415

    try:
        application = build_app(config, mappings, with_connectors=False)
    except OkrsyncError as error:
        raise _fail(error) from None
    try:
        data = build_report(application.settings, application.db, application.mappings, cycle=cycle)
    except UnknownCycleError as error:
        typer.echo(f"error: {'--cycle: ' if cycle else ''}{error}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    finally:
        application.close()
    if html is not None:
        _write_atomically(html, render_page(data, links=False))
        krs = sum(1 for kr in data.key_results() if kr.cycle.name == data.cycle.name)
        typer.echo(f"{html}: status page of {data.cycle.name} ({krs} key results)", err=True)
        return
    text = render_digest(data) if output_format == "markdown" else render_page(data, links=False)
    sys.stdout.write(text)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so no reader sees half of it."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        typer.echo(f"error: --html: cannot write {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None


@app.command()
def demo(
    mappings: Annotated[
        Path, typer.Option("--mappings", "-m", help="Mappings to run.", file_okay=False)
    ] = Path("mappings"),
    seed: Annotated[int, typer.Option(help="Seed of the sandbox data.")] = 7,
    size: Annotated[int, typer.Option(help="Rows per sandbox CRM.", min=200)] = 6000,
) -> None:
    """The whole loop against the embedded sandbox CRMs: provision, sync, weekly check-ins."""
    _need_sandbox("demo")
    from okrsync_sandbox.demo import run_demo  # noqa: PLC0415

    configure_logging("warning", "console")
    try:
        run_demo(mappings, seed=seed, size=size)
    except OkrsyncError as error:
        raise _fail(error) from None


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the ``okrsync`` script.

    An unexpected error prints its traceback and exits 3 (failed), never 1,
    which means "partly synced".
    """
    try:
        app()
    except Exception:  # noqa: BLE001  (the last resort: any bug ends as "failed", not "partly")
        import traceback  # noqa: PLC0415

        traceback.print_exc()
        sys.exit(int(ExitCode.NOTHING_SYNCED))
