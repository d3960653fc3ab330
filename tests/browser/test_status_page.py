"""The status page in a real browser: what a person sees, served by the daemon and as a file.

The sandbox CRMs move forward four Mondays with a check-in each; reps enter a
confidence and comments (one of them hostile markup) in Salesforce with
simple-salesforce. Then headless Chromium (Debian's, through chromedriver)
reads the page the daemon serves and the file ``okrsync report --html`` writes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, col, select

from okrsync.app import App, connect, load_config, load_mappings_for
from okrsync.daemon import Daemon
from okrsync.report import build_report, render_page
from okrsync.scoring import progress, round2
from okrsync.state.db import open_store
from okrsync.state.models import CheckInRow
from okrsync_sandbox.runner import start_sandboxes
from okrsync_sandbox.server import SandboxOptions
from tests.e2e.conftest import MAPPINGS, Sandbox, provision

from . import chromium

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from selenium.webdriver.chrome.webdriver import WebDriver

    from okrsync.engine import CycleReport
    from okrsync.plugins import PluginRegistry

pytestmark = pytest.mark.browser

FIRST = date(2026, 8, 3)
MONDAYS = [FIRST + timedelta(weeks=n) for n in range(4)]
HOSTILE = '<img src=x onerror="window.__pwned=1">Need <b>help</b> from marketing'
VOICES = {
    "2026-Q3/consultation-conversion/lost-deal-interviews": (4, HOSTILE),
    "2026-Q3/digital-sales/open-opportunities": (8, "Two big events coming up"),
}


@pytest.fixture(scope="module")
def chrome() -> Iterator[WebDriver]:
    """One headless Chromium for the module; skipped, saying why, when it is not installed."""
    reason = chromium.missing()
    if reason:
        pytest.skip(reason)
    driver, profile = chromium.start()
    try:
        yield driver
    finally:
        chromium.stop(driver, profile)


class Quarter:
    """The sandbox after four weekly check-ins, the daemon serving its page, and the written file."""

    def __init__(self, app: App, reports: list[CycleReport], url: str, file: Path) -> None:
        self.app = app
        self.reports = reports
        self.url = url
        self.file = file

    @property
    def last(self) -> CycleReport:
        """The engine's report of the last check-in."""
        return self.reports[-1]

    def check_ins(self) -> dict[str, int]:
        """Check-ins with a value per key result, as the state store holds them."""
        keys = [r.kr.full_key for r in self.last.key_results]
        counts: dict[str, int] = dict.fromkeys(keys, 0)
        with Session(self.app.db) as session:
            for row in session.exec(select(CheckInRow).where(col(CheckInRow.kr_key).in_(keys))):
                if row.value is not None:
                    counts[row.kr_key] += 1
        return counts


@pytest.fixture(scope="module")
def quarter(
    chrome: WebDriver, tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry
) -> Iterator[Quarter]:
    """Four Mondays of check-ins against the sandbox, reps' voices entered through simple-salesforce."""
    del chrome  # started first: without a browser nothing here is needed
    moment = datetime(FIRST.year, FIRST.month, FIRST.day, 12, tzinfo=UTC)
    group = start_sandboxes(SandboxOptions(seed=5, size=400, as_of=moment))
    folder = tmp_path_factory.mktemp("page")
    sandbox = Sandbox(group, folder, registry)
    config = sandbox.write_config("page", extra="http: {host: 127.0.0.1, port: 0}\n")
    settings = load_config(config, MAPPINGS, registry=registry, env={}, log=False)
    db = open_store(settings.store_url.get_secret_value())
    app = App(
        settings,
        registry,
        load_mappings_for(settings, registry),
        db,
        connect(settings, registry, set(settings.connectors), sandbox.clock, db),
        sandbox.clock,
    )
    daemon = None
    try:
        provision(app)
        reports = []
        for n, monday in enumerate(MONDAYS):
            if n:
                group.advance(datetime(monday.year, monday.month, monday.day, 12, tzinfo=UTC))
            if n == len(MONDAYS) - 1:
                _reps_speak(sandbox, app)
            reports.append(app.engine().run("check_in", monday))
        daemon = Daemon(app, reload_seconds=3600, sync_at_start=False)
        daemon.start()
        assert daemon.http is not None
        file = folder / "status.html"
        data = build_report(settings, db, app.mappings, now=sandbox.clock())
        file.write_text(render_page(data, links=False), encoding="utf-8")
        yield Quarter(app, reports, daemon.http.url + "/", file)
    finally:
        if daemon is not None:
            daemon.shutdown()  # closes the app too
        else:
            app.close()
        sandbox.stop()


def _reps_speak(sandbox: Sandbox, app: App) -> None:
    """Reps enter a confidence and a comment on key results in Salesforce."""
    connector = app.connectors["salesforce"]
    sobject = connector.physical_name("key_result")
    key_field = connector.physical_name("key_result", "key")
    confidence = connector.physical_name("key_result", "confidence")
    comment = connector.physical_name("key_result", "comment")
    with sandbox.salesforce() as sf:
        for key, (level, text) in VOICES.items():
            getattr(sf, sobject).upsert(f"{key_field}/{key}", {confidence: level, comment: text})


def _open(chrome: WebDriver, url: str, width: int = 1280) -> None:
    chromium.viewport(chrome, width, mobile=width < 500)
    chrome.get(url)
    chrome.get_log("browser")  # earlier pages' messages are not this page's


def _targets(quarter: Quarter) -> list[str]:
    return [quarter.url, quarter.file.as_uri()]


def _score(score: float | None) -> str:
    return "—" if score is None else f"{score:.2f}"


def _kr(chrome: WebDriver, key: str) -> Any:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return chrome.find_element(By.CSS_SELECTOR, f'li.kr[data-key="{key}"]')


def test_names_scores_and_statuses_read_as_the_engine_left_them(chrome, quarter) -> None:
    """Every key result shows its title, score, forecast and status word; objectives their title and score."""
    labels = {
        "on_track": "On track",
        "at_risk": "At risk",
        "off_track": "Off track",
        "done": "Done",
        "no_data": "No data",
    }
    read = """
        const out = {};
        for (const el of document.querySelectorAll('li.kr, article.objective')) {
          const q = s => (el.querySelector(s) || {}).innerText;
          out[el.dataset.key] = el.matches('li.kr')
            ? [q('.kr-title'), q('.kr-score'), q('.kr-forecast'), q('.kr-head .badge')]
            : [q('.objective-title'), q('.objective-score')];
        }
        return out;
    """
    for url in _targets(quarter):
        chrome.get(url)
        seen = chrome.execute_script(read)
        for result in quarter.last.key_results:
            title, score, forecast, badge = seen[result.kr.full_key]
            assert title == result.kr.title
            assert score == _score(result.score.score)
            assert forecast == _score(result.score.forecast_score)
            assert labels[result.status] in badge
        for key, objective in quarter.last.objectives.items():
            if key.startswith("2026-Q3/"):
                title = quarter.app.mappings.objective(key).title
                assert seen[key] == [title, _score(objective.score)]


def test_each_chart_has_a_point_per_check_in(chrome, quarter) -> None:
    """The burn-up chart of every key result has as many points as the store has check-ins for it."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    stored = quarter.check_ins()
    # a point per Monday with a value (a Monday without data for a key result has none)
    assert len(MONDAYS) in set(stored.values())
    chrome.get(quarter.url)
    for key, count in stored.items():
        points = _kr(chrome, key).find_elements(By.CSS_SELECTOR, "svg.burnup circle.checkin")
        assert len(points) == count, key


def test_forecast_lines_end_at_the_engines_forecast(chrome, quarter) -> None:
    """Each forecast line ends on the cycle's last day at the value that scores as the engine's forecast."""
    read = """
        const out = {};
        for (const svg of document.querySelectorAll('svg.burnup')) {
          const line = svg.querySelector('line.forecast');
          out[svg.dataset.key] = line && [svg.dataset.yMin, svg.dataset.yMax, svg.dataset.plotTop,
            svg.dataset.plotBottom, line.dataset.forecastEnd, line.getAttribute('y2')].map(Number);
        }
        return out;
    """
    chrome.get(quarter.url)
    charts = chrome.execute_script(read)
    drawn_lines = 0
    for result in quarter.last.key_results:
        if result.score.forecast_score is None:  # no data: no forecast, no line
            assert charts[result.kr.full_key] is None
            continue
        drawn_lines += 1
        y_min, y_max, top, bottom, end, y2 = charts[result.kr.full_key]
        kr = result.kr
        assert round2(progress(end, kr.start, kr.target, milestone=kr.is_milestone)) == (
            result.score.forecast_score
        ), kr.full_key
        drawn = y_min + (bottom - y2) / (bottom - top) * (y_max - y_min)
        assert drawn == pytest.approx(end, abs=(y_max - y_min) / (bottom - top) * 0.01)
    assert drawn_lines > len(quarter.last.key_results) / 2


def test_no_horizontal_scrolling_on_a_phone(chrome, quarter) -> None:
    """At a 390 px wide viewport neither the served page nor the file scrolls sideways."""
    for url in _targets(quarter):
        _open(chrome, url, width=390)
        widths = chrome.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth,"
            " Math.max(...[...document.querySelectorAll('body *')]"
            ".map(e => e.getBoundingClientRect().right))]"
        )
        assert widths[1] == 390
        assert widths[0] <= widths[1], (url, widths)
        assert widths[2] <= widths[1] + 0.5, (url, widths)
    chromium.viewport(chrome, 1280)


def test_no_console_errors_nothing_fetched_and_the_style_applies(chrome, quarter) -> None:
    """No console message of any severity, no request beyond the page, and the policy lets its own style apply."""
    for url in _targets(quarter):
        _open(chrome, url)
        chrome.refresh()
        logs = chrome.get_log("browser")
        assert logs == [], logs
        fetched = chrome.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert fetched == []
        header = chrome.execute_script(
            "return getComputedStyle(document.querySelector('header.top')).backgroundColor"
        )
        assert header == "rgb(13, 17, 23)"  # the stylesheet was not blocked


def test_charts_have_text_alternatives_and_data_tables(chrome, quarter) -> None:
    """Every chart is an image labelled by its title and description, with a table of its check-ins."""
    read = """
        return [...document.querySelectorAll('svg.burnup')].map(svg => [
          svg.dataset.key,
          svg.getAttribute('role'),
          svg.getAttribute('aria-labelledby').split(' ')
            .map(id => document.getElementById(id).textContent),
          svg.closest('figure').querySelectorAll('details tbody tr').length]);
    """
    chrome.get(quarter.url)
    charts = chrome.execute_script(read)
    assert len(charts) == len(quarter.last.key_results)
    stored = quarter.check_ins()
    for key, role, (title, description), rows in charts:
        assert role == "img"
        assert title.startswith("Burn-up chart: ")
        with_data = f"{stored[key]} check-ins" in description and "Forecast " in description
        assert with_data if stored[key] else "No check-ins yet." in description, description
        assert "Expected line from " in description
        assert rows == len(MONDAYS)  # the table lists check-ins without a value too
    headings = chrome.execute_script(
        "return [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => h.tagName)"
    )
    assert headings[0] == "H1"
    assert headings.count("H1") == 1


def _luminance(rgb: tuple[float, ...]) -> float:
    channels = [c / 255 for c in rgb[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _rgb(text: str) -> tuple[float, ...]:
    return tuple(float(p) for p in text[text.index("(") + 1 : -1].split(","))


def test_status_is_said_in_words_with_aa_contrast(chrome, quarter) -> None:
    """Every status badge has a word and an icon, and its text contrasts at least 4.5:1 with its background."""
    chrome.get(quarter.url)
    badges = chrome.execute_script(
        "return [...document.querySelectorAll('.badge')].map(b => [b.dataset.status, b.innerText,"
        " getComputedStyle(b).color, getComputedStyle(b).backgroundColor])"
    )
    assert badges
    for status, text, color, background in badges:
        icon, *words = text.split()
        assert len(icon) == 1, text
        assert len(" ".join(words)) >= 4, text
        fg, bg = _luminance(_rgb(color)), _luminance(_rgb(background))
        ratio = (max(fg, bg) + 0.05) / (min(fg, bg) + 0.05)
        assert ratio >= 4.5, (status, color, background, ratio)
    assert {"on_track", "done"} <= {b[0] for b in badges}


def test_reps_voice_is_shown_as_text_never_as_markup(chrome, quarter) -> None:
    """Confidence and comments entered in the CRM appear; a comment's markup stays text and runs nothing."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    for url in _targets(quarter):
        chrome.get(url)
        hostile_key, calm_key = VOICES
        voice = _kr(chrome, hostile_key).find_element(By.CSS_SELECTOR, ".voice")
        assert "Confidence 4/10" in voice.text
        assert HOSTILE in voice.find_element(By.CSS_SELECTOR, ".comment").text
        assert "Two big events coming up" in _kr(chrome, calm_key).text
        assert chrome.find_elements(By.CSS_SELECTOR, "img, script, b.injected") == []
        assert chrome.execute_script("return window.__pwned === undefined")
