"""Headless Chromium from Debian's packages (``chromium``, ``chromium-driver``), driven by Selenium.

Never downloads a browser or a driver: it uses the ones on this machine, or
says why it cannot (the tests then skip with that reason).
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
"""Chromium's flags: headless, offline, no first-run or background traffic."""
INSTALL = "apt-get install -y chromium chromium-driver"


def missing() -> str | None:
    """Why Chromium cannot be driven here, or ``None`` when it can."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (it is a dev dependency: uv sync --all-packages)"
    if browser() is None:
        return f"Chromium is not installed ({INSTALL}; .ci/run does it when root)"
    if shutil.which("chromedriver") is None:
        return f"chromedriver is not installed ({INSTALL})"
    return None


def browser() -> str | None:
    """The Chromium executable, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def start(width: int = 1280, height: int = 900) -> tuple[WebDriver, Path]:
    """A headless Chromium with a fresh profile (its folder is returned to be removed)."""
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    profile = Path(tempfile.mkdtemp(prefix="okrsync-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser())
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=options)
    return driver, profile


def viewport(driver: WebDriver, width: int, height: int = 900, *, mobile: bool = False) -> None:
    """Make the page's viewport ``width`` × ``height`` CSS pixels (a phone when ``mobile``)."""
    metrics: dict[str, Any] = {
        "width": width,
        "height": height,
        "deviceScaleFactor": 1,
        "mobile": mobile,
    }
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def stop(driver: WebDriver, profile: Path) -> None:
    """Quit the browser and remove its profile."""
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
