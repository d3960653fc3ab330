"""The ``okrsync`` command line (the composition root for each command).

Exit codes: 0 success, 2 invalid configuration or mappings (the located
problems on stderr, one per line), 1 any other failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from okrsync import __version__
from okrsync.catalog import Catalog, load_plugin_catalog
from okrsync.config import Settings, load_settings
from okrsync.errors import ConfigurationError, OkrsyncError
from okrsync.logging import configure_logging
from okrsync.mapping.loader import load_mappings
from okrsync.mapping.schema import json_schema
from okrsync.plugins import PluginRegistry

if TYPE_CHECKING:
    from okrsync.model import MappingSet

__all__ = ["app", "main"]

EXIT_INVALID = 2
EXIT_FAILED = 1

app = typer.Typer(
    name="okrsync",
    help="Keep OKR key results in step with the CRM: pull, score, write back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


def _settings(config: Path | None, mappings: Path | None, registry: PluginRegistry) -> Settings:
    overrides: dict[str, Any] = {}
    if mappings is not None:
        overrides["mappings"] = mappings
    settings = load_settings(config, overrides=overrides, registry=registry)
    configure_logging(settings.log.level, settings.log.format, redact=settings.secret_values())
    return settings


def _catalogs(registry: PluginRegistry, types: set[str]) -> dict[str, Catalog]:
    return {name: load_plugin_catalog(registry.get(name)) for name in sorted(types)}


def load_all(config: Path | None, mappings: Path | None) -> tuple[Settings, MappingSet]:
    """Settings and validated mappings, as every command that needs them loads them."""
    registry = PluginRegistry.from_entry_points()
    settings = _settings(config, mappings, registry)
    sources = settings.sources(registry)
    catalogs = _catalogs(registry, set(sources.values()))
    return settings, load_mappings(settings.mappings, sources=sources, catalogs=catalogs)


@app.command()
def validate(config: ConfigOption = None, mappings: MappingsOption = None) -> None:
    """Check the configuration and every mapping file; print each problem as file:line:col."""
    try:
        settings, loaded = load_all(config, mappings)
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
        settings = _settings(config, mappings, registry)
        sources = settings.sources(registry)
        per_instance = catalogs_for(
            settings.mappings, sources=sources, catalogs=_catalogs(registry, set(sources.values()))
        )
    except OkrsyncError as error:
        raise _fail(error) from None
    table = Table("source", "metric", "unit", "description", "defined in")
    for instance, catalog in sorted(per_instance.items()):
        if source is not None and instance != source:
            continue
        for name in catalog.names():
            definition = catalog.definition(name)
            table.add_row(
                instance,
                name,
                (definition.unit or "").__str__(),
                definition.spec.description or "",
                str(definition.origin),
            )
    Console().print(table)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the ``okrsync`` script."""
    app()
