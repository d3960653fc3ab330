"""`okrsync run` as a process against the sandbox: cycles, endpoints, hot reload, HEALTHCHECK, SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from okrsync.crm_objects import KEY_RESULT

from .conftest import ROOT, free_port, okrsync_command, process_env, run_okrsync

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Sandbox

MAPPING = """\
version: 1
cycle: {name: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
objectives:
  - key: hunt
    title: Hunt new business
    owner: {team: EMEA Sales}
    key_results:
      - key: won-deals
        title: Win 40 deals
        source: salesforce
        metric: {count: Opportunity, where: {IsWon: true}}
        target: 40
      - key: open-deals
        title: Keep 60 deals open in HubSpot
        source: hubspot
        metric: {count: deals, where: {hs_is_closed: false}}
        target: 60
"""
WON_DEALS = "2026-Q4/hunt/won-deals"
SUCCEEDED = re.compile(
    r'^okrsync_cycles_total\{kind="sync",outcome="succeeded"\} (\S+)$', re.MULTILINE
)


def get(url: str) -> tuple[int, str]:
    """Status and body of a GET (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def succeeded_cycles(base: str) -> float:
    """``okrsync_cycles_total{kind="sync",outcome="succeeded"}`` (0 before the first)."""
    found = SUCCEEDED.search(get(base + "/metrics")[1])
    return float(found[1]) if found else 0.0


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll ``check`` until it returns something truthy; fail saying ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (OSError, urllib.error.URLError):
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def log_events(path: Path) -> list[dict[str, Any]]:
    """The JSON log lines written so far (every line must be one)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def replace_text(path: Path, text: str) -> None:
    """Write ``path`` at once (a hidden file renamed over it), as an editor saving it would."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def healthcheck_command(port: int) -> list[str]:
    """The Dockerfile's HEALTHCHECK command, aimed at ``port`` and run with this Python."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("HEALTHCHECK"))
    command = json.loads(line.split(" CMD ", 1)[1])
    assert command[0] == "python"
    return [sys.executable, *(arg.replace("8080", str(port)) for arg in command[1:])]


def daemon_config(sandbox: Sandbox, port: int) -> tuple[Path, Path]:
    """The sandbox's configuration plus a mappings folder, JSON logs, the port, a 2 s schedule."""
    maps = sandbox.folder / "maps"
    maps.mkdir()
    mapping = maps / "q4.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    config = sandbox.write_config(
        "daemon",
        f"mappings: {json.dumps(str(maps))}\n"
        "log: {format: json}\n"
        f"http: {{host: 127.0.0.1, port: {port}}}\n"
        'schedules: {sync: {interval: 2s}, check_in: {cron: "0 7 * * MON"}}\n',
    )
    return config, mapping


def check_broken_edit(mapping: Path, base: str, log: Path) -> None:
    """A broken target is logged as `file:line:col`, counted, and the cycles go on."""
    lines = MAPPING.splitlines()
    row = lines.index("        target: 40") + 1
    column = lines[row - 1].index("40") + 1
    replace_text(mapping, MAPPING.replace("target: 40", "target: eight"))
    failed = wait_for(
        "mappings.reload.failed in the JSON log",
        lambda: [e for e in log_events(log) if e["event"] == "mappings.reload.failed"],
    )
    located = re.compile(
        rf"maps/q4\.yaml:{row}:{column}: objectives\[0\]\.key_results\[0\]\.target: .*'eight'"
    )
    assert any(located.search(p) for p in failed[0]["problems"]), failed
    _, metrics = get(base + "/metrics")
    assert "okrsync_mappings_reload_failures_total 1.0" in metrics
    after_failure = succeeded_cycles(base)
    wait_for("two more cycles", lambda: succeeded_cycles(base) >= after_failure + 2)


def test_daemon_syncs_reloads_mappings_and_stops_cleanly(
    start_sandbox: Callable[[str], Sandbox],
) -> None:
    """The daemon runs scheduled syncs, serves its endpoints, applies a good mapping edit, rejects a broken one with its location, passes the HEALTHCHECK and exits 0 on SIGTERM."""
    sandbox = start_sandbox("daemon")
    port = free_port()
    config, mapping = daemon_config(sandbox, port)
    provisioned = run_okrsync("provision", "--config", str(config))
    assert provisioned.returncode == 0, provisioned.stderr[-3000:]
    assert "salesforce: changed" in provisioned.stdout
    assert "hubspot: changed" in provisioned.stdout
    app = sandbox.app(config, mappings=None)

    def target() -> float | None:
        record = app.connectors["salesforce"].read_back(KEY_RESULT, [WON_DEALS]).get(WON_DEALS)
        return None if record is None else record["target_value"]

    base = f"http://127.0.0.1:{port}"
    stderr_path, stdout_path = sandbox.folder / "daemon.err", sandbox.folder / "daemon.out"
    with stderr_path.open("w") as err, stdout_path.open("w") as out:
        daemon = subprocess.Popen(  # noqa: S603  (our own script, fixed arguments)
            okrsync_command("run", "--config", str(config)),
            stdout=out,
            stderr=err,
            env=process_env(),
            cwd=sandbox.folder,
        )
    try:
        wait_for("a succeeded sync cycle in /metrics", lambda: succeeded_cycles(base) >= 1)
        status, body = get(base + "/readyz")
        assert status == 200, body
        assert json.loads(body)["ready"] is True
        assert target() == 40
        replace_text(mapping, MAPPING.replace("target: 40", "target: 55"))
        wait_for("the edited target in Salesforce", lambda: target() == 55)
        check_broken_edit(mapping, base, stderr_path)
        assert target() == 55  # the last good mappings are still in force
        assert get(base + "/healthz") == (200, '{"status":"ok"}')
        check = subprocess.run(  # noqa: S603  (the Dockerfile's own command)
            healthcheck_command(port), capture_output=True, timeout=10, check=False
        )
        assert check.returncode == 0, check.stderr
        cycles = succeeded_cycles(base)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0, stderr_path.read_text(encoding="utf-8")[-3000:]
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.communicate(timeout=30)
    assert "Traceback" not in stderr_path.read_text(encoding="utf-8")
    events = log_events(stderr_path)
    assert events[-1]["event"] == "daemon.stopped"
    reloads = [e["event"] for e in events if e["event"].startswith("mappings.reload")]
    assert reloads == ["mappings.reloaded", "mappings.reload.failed"]
    assert stdout_path.read_text(encoding="utf-8") == ""
    print(f"daemon: {cycles:.0f} succeeded sync cycles")  # noqa: T201
