"""The status page as one self-contained HTML document (inline CSS and SVG, no script).

The same document is served by ``okrsync run`` at ``/`` and written by
``okrsync report --html``: no external asset, font or script, so it works
offline and as an e-mail attachment. Every text is escaped (Jinja's
autoescape); the Content-Security-Policy allows only the page's own style.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from okrsync import __version__
from okrsync.report.chart import burn_up
from okrsync.report.fmt import (
    format_change,
    format_day,
    format_score,
    format_share,
    format_value,
)
from okrsync.scoring import AT_RISK_AT, ON_TRACK_AT, CycleDates, expected_progress

if TYPE_CHECKING:
    from okrsync.report.model import KeyResultView, ObjectiveView, Report, RunView

__all__ = ["STATUS_ICONS", "STATUS_LABELS", "content_security_policy", "render_page"]

STATUS_LABELS = {
    "done": "Done",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "no_data": "No data",
    "not_started": "Not started",
    "error": "Error",
    "succeeded": "Succeeded",
    "partial": "Partly failed",
    "failed": "Failed",
    "stopped_quota": "Stopped at the quota reserve",
    "abandoned": "Stopped (shutdown)",
    "running": "Running",
}
"""Words for every key-result, objective and run status (never colour alone)."""
STATUS_ICONS = {
    "done": "✔",
    "on_track": "●",
    "at_risk": "▲",
    "off_track": "✖",
    "no_data": "–",
    "not_started": "○",
    "error": "!",
    "succeeded": "✔",
    "partial": "▲",
    "failed": "✖",
    "stopped_quota": "■",
    "abandoned": "■",
    "running": "↻",
}
"""A shape per status, beside its word and its colour."""
STATUS_ORDER = ("off_track", "at_risk", "on_track", "done", "no_data", "not_started", "error")


@cache
def _css() -> str:
    return (files("okrsync.report") / "templates" / "page.css").read_text(encoding="utf-8")


def content_security_policy() -> str:
    """The page's policy: nothing may load or run; only its own inline style applies."""
    digest = base64.b64encode(hashlib.sha256(_css().encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("okrsync.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.globals.update(
        label=lambda s: STATUS_LABELS.get(s, str(s).replace("_", " ").capitalize()),
        icon=lambda s: STATUS_ICONS.get(s, "•"),
        score=format_score,
        share=format_share,
        day=format_day,
        short_day=lambda d: f"{d:%a} {d.day} {d:%b}",
        burn_up=burn_up,
        order=STATUS_ORDER,
        on_track_at=ON_TRACK_AT,
        at_risk_at=AT_RISK_AT,
        version=__version__,
    )
    return env


def _moment(value: datetime) -> str:
    utc = value.astimezone(UTC) if value.tzinfo else value
    return f"{format_day(utc.date())} {utc:%H:%M} UTC"


def _duration(run: RunView) -> str:
    if run.finished_at is None:
        return "—"
    seconds = max(0.0, (run.finished_at - run.started_at).total_seconds())
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"  # noqa: PLR2004


def _change(kr: KeyResultView, currency: str | None) -> Markup:
    change = kr.change
    if change is None:
        return Markup('<span class="flat">no earlier check-in</span>')
    delta = change.delta
    text = format_change(delta, kr.unit, currency)
    if not delta:
        return Markup('<span class="flat">{}</span>').format(text)
    better = (delta > 0) != (kr.start > kr.target)
    arrow = "▲" if delta > 0 else "▼"
    cls = "up" if better else "down"
    word = "better" if better else "worse"
    return Markup(
        '<span class="{}"><span class="nowrap"><span aria-hidden="true">{}</span> {}</span> '
        '<span class="small">({})</span></span>'
    ).format(cls, arrow, text, word)


def _tiers(report: Report) -> dict[str, str]:
    out: dict[str, str] = {}

    def visit(objective: ObjectiveView, depth: int) -> None:
        if objective.owner_kind == "user":
            out[objective.key] = "Personal objective"
        elif depth == 0 and objective.children:
            out[objective.key] = "Company objective"
        else:
            out[objective.key] = "Team objective"
        for child in objective.children:
            visit(child, depth + 1)

    for root in report.objectives:
        visit(root, 0)
    return out


def render_page(report: Report, *, links: bool = True) -> str:
    """The status page of ``report`` as one HTML document.

    Args:
        report: What to show (:func:`okrsync.report.model.build_report`).
        links: Link the other cycles (``?cycle=``); off for a written file,
            which holds one cycle only.
    """
    template = _environment().get_template("page.html.j2")
    counter = iter(range(1, 1_000_000))
    tiers = _tiers(report)
    cycle_share = 0.0
    cycle_day = 0
    if report.as_of is not None:
        dates = CycleDates(report.cycle.start, report.cycle.end)
        cycle_share = expected_progress(dates, report.as_of)
        cycle_day = min(max(0, report.cycle.day_of(report.as_of) + 1), report.cycle.days)
    currency = report.currency
    return template.render(
        report=report,
        links=links,
        css=Markup(_css()),  # noqa: S704  (our own stylesheet, hashed in the policy)
        csp=content_security_policy(),
        counter=lambda: next(counter),
        tier=lambda o: tiers.get(o.key, "Objective"),
        value=lambda v, unit: format_value(v, unit, currency),
        change=lambda kr: _change(kr, currency),
        bar_label=lambda kr: (
            f"Progress {format_share(kr.progress)}"
            + (f", expected by now {format_share(kr.expected)}" if kr.expected is not None else "")
        ),
        moment=_moment,
        duration=_duration,
        cycle_share=cycle_share,
        cycle_day=cycle_day,
    )
