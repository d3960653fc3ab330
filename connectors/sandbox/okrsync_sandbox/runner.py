"""Start the sandbox CRM of every installed connector, plus the admin API."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.datafolder import DataFolderError
from okrsync_sandbox.plugins import installed_sandboxes
from okrsync_sandbox.server import AdminApp, Served, serve

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from okrsync_sandbox.plugins import SandboxPlugin
    from okrsync_sandbox.server import RunningSandbox, SandboxOptions

__all__ = ["SandboxGroup", "start_sandboxes", "write_config"]


@dataclass(slots=True)
class SandboxGroup:
    """The running sandbox CRMs, their shared accounting and the admin server."""

    sandboxes: dict[str, RunningSandbox]
    accounting: Accounting
    admin: Served
    options: SandboxOptions
    stopped: bool = field(default=False)

    def info(self) -> dict[str, Any]:
        """The ready line: how to reach each CRM and the admin API."""
        out: dict[str, Any] = {name: box.info() for name, box in self.sandboxes.items()}
        out["admin_url"] = self.admin.url
        return out

    def advance(self, as_of: datetime) -> dict[str, dict[str, int]]:
        """Move every CRM to ``as_of``; rows written per CRM and object."""
        return {name: box.advance(as_of) for name, box in self.sandboxes.items()}

    def stop(self) -> None:
        """Stop every server (idempotent)."""
        if self.stopped:
            return
        self.stopped = True
        self.admin.stop()
        for box in self.sandboxes.values():
            box.stop()


def start_sandboxes(
    options: SandboxOptions, plugins: Iterable[SandboxPlugin] | None = None
) -> SandboxGroup:
    """Start every installed sandbox CRM (or those of ``plugins``), plus the admin API.

    With a fixed ``options.port`` the CRMs take consecutive ports from it (in
    plugin-name order) and the admin API the next one; with 0 every server
    takes a free port.

    Raises:
        DataFolderError: ``options.data_dir`` has problems, listed for every CRM.
    """
    accounting = Accounting()
    started: dict[str, RunningSandbox] = {}
    try:
        chosen = installed_sandboxes() if plugins is None else plugins
        port = _start_each(chosen, options, accounting, started)
        admin = serve(AdminApp(accounting, started), options.host, port)
    except BaseException:
        for box in started.values():
            box.stop()
        raise
    return SandboxGroup(started, accounting, admin, options)


def _start_each(
    plugins: Iterable[SandboxPlugin],
    options: SandboxOptions,
    accounting: Accounting,
    started: dict[str, RunningSandbox],
) -> int:
    """Start each CRM into ``started``; return the admin API's port.

    Raises:
        DataFolderError: The problems of every CRM's data files, once all were read.
    """
    port = options.port
    bad_data: list[str] = []
    for plugin in plugins:
        try:
            started[plugin.name] = plugin.start_sandbox(replace(options, port=port), accounting)
        except DataFolderError as exc:  # read every CRM's files before giving up
            bad_data.extend(exc.lines)
        port = port + 1 if port else 0
    if bad_data:
        raise DataFolderError(bad_data)
    return port


def write_config(
    group: SandboxGroup,
    path: Path,
    store_url: str | None = None,
    mappings: Path | None = None,
) -> Path:
    """Write an okrsync configuration pointing every connector at the sandbox.

    Secrets go to a dotenv file beside it (``<name>.env``) that the
    configuration names with ``env_file``; the configuration itself holds none.
    Paths are written absolute, so the configuration works from any folder:
    the state store (``store_url``; default ``<name>-state.db`` beside the
    configuration) and, when given, the ``mappings`` folder.
    Returns the dotenv file's path.
    """
    env_path = path.with_suffix(".env")
    if store_url is None:
        store_url = f"sqlite:///{path.parent.absolute() / (path.stem + '-state.db')}"
    lines = [
        "# okrsync configuration for a running `okrsync sandbox`",
        (
            f"# (seed {group.options.seed}, size {group.options.size}); "
            f"secrets are in {env_path.name}."
        ),
        f"env_file: {env_path.name}",
        f"store_url: {json.dumps(store_url)}",
    ]
    if mappings is not None:
        lines.append(f"mappings: {json.dumps(str(mappings.absolute()))}")
    lines.append("connectors:")
    env_lines = ["# Credentials of the running sandbox (not real secrets)."]
    for name, box in group.sandboxes.items():
        lines.append(f"  {name}:")
        lines.extend(
            f"    {key}: {json.dumps(str(value) if isinstance(value, Path) else value)}"
            for key, value in box.connector_settings().items()
        )
        env_lines.extend(
            f"OKRSYNC_CONNECTORS__{name.upper().replace('-', '_')}__{key.upper()}={value}"
            for key, value in box.connector_secrets().items()
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env_path.write_text("\n".join(env_lines) + "\n", encoding="utf-8")
    env_path.chmod(0o600)
    return env_path
