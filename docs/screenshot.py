"""Regenerate ``docs/status-page.png``: the demo's status page in headless Chromium.

    uv run python docs/screenshot.py [--out docs/status-page.png] [--width 1200] [--height 1700]
                                     [--page status-page.html]

Runs the demo (``okrsync demo``'s sandbox CRMs, mappings and weekly check-ins),
with two reps entering a confidence and a comment in Salesforce before the
last check-in, writes the status page, and photographs its top in Debian's
Chromium (``apt-get install chromium chromium-driver``; nothing is downloaded).
"""

# A documentation tool, not a package module.
# ruff: noqa: INP001, T201

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from okrsync.logging import configure_logging  # noqa: E402
from okrsync_sandbox.demo import DEMO_END, run_demo  # noqa: E402
from tests.browser import chromium  # noqa: E402

if TYPE_CHECKING:
    from datetime import date

    from okrsync.app import App
    from okrsync_sandbox.runner import SandboxGroup

VOICES = {
    "2026-Q3/consultation-conversion/lost-deal-interviews": (
        4,
        "Prospects who declined rarely call back; we need marketing to book the interviews.",
    ),
    "2026-Q3/digital-sales/qualified-leads": (8, "New lead scoring is live since Monday."),
}
"""Confidence (0–10) and comment reps enter on key results before the last check-in."""


def reps_speak(group: SandboxGroup, app: App, monday: date) -> None:
    """Before the last check-in, reps enter their confidence and a comment in Salesforce."""
    if monday != DEMO_END:
        return
    import requests  # noqa: PLC0415
    from simple_salesforce import Salesforce  # noqa: PLC0415

    info = group.sandboxes["salesforce"].info()
    connector = app.connectors["salesforce"]
    name = connector.physical_name
    with requests.Session() as session:
        session.verify = info["ca_cert"]
        session.trust_env = False  # the sandbox's own CA, whatever REQUESTS_CA_BUNDLE says
        sf = Salesforce(
            instance_url=info["instance_url"], session_id=info["session_id"], session=session
        )
        records = getattr(sf, name("key_result"))
        for key, (confidence, comment) in VOICES.items():
            records.upsert(
                f"{name('key_result', 'key')}/{key}",
                {
                    name("key_result", "confidence"): confidence,
                    name("key_result", "comment"): comment,
                },
            )


def main() -> None:
    """Run the demo, write its page, photograph it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "status-page.png")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1700)
    parser.add_argument("--page", type=Path, help="Also keep the HTML page at this path.")
    args = parser.parse_args()
    configure_logging("warning", "console")
    reason = chromium.missing()
    if reason:
        sys.exit(f"screenshot: {reason}")
    with tempfile.TemporaryDirectory(prefix="okrsync-screenshot-") as folder:
        page = args.page or Path(folder) / "status-page.html"
        run_demo(
            ROOT / "mappings",
            console=Console(file=io.StringIO()),
            page=page,
            before_check_in=reps_speak,
        )
        driver, profile = chromium.start(args.width, args.height)
        try:
            chromium.viewport(driver, args.width, args.height)
            driver.get(page.as_uri())
            driver.save_screenshot(str(args.out))
        finally:
            chromium.stop(driver, profile)
    print(f"{args.out}: {args.width}×{args.height} px of the demo's status page")


if __name__ == "__main__":
    main()
