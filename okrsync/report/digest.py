"""The weekly check-in digest in Markdown, for a chat channel or an e-mail.

What moved since the last check-in, what is at risk or off track, and what
needs help (low confidence, reps' comments, errors), in the order a weekly
check-in meeting walks through them. Every text from the mappings or the CRM
is escaped, so a title cannot inject markup, links or mentions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from okrsync.report.fmt import format_change, format_day, format_score, format_share, format_value
from okrsync.report.html import STATUS_ICONS, STATUS_LABELS, STATUS_ORDER
from okrsync.scoring import CycleDates, expected_progress

if TYPE_CHECKING:
    from okrsync.report.model import KeyResultView, ObjectiveView, Report

__all__ = ["LOW_CONFIDENCE", "markdown_text", "render_digest"]

LOW_CONFIDENCE = 5
"""A rep's confidence (0–10) at or below this asks for help."""
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
"""Characters that are markup inside a line of CommonMark (and GitHub's tables and strikes)."""
_SPACE = re.compile(r"\s+")


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown: one line, every markup character escaped."""
    return _SPECIAL.sub(r"\\\1", _SPACE.sub(" ", text).strip())


def _status(status: str) -> str:
    return f"{STATUS_ICONS.get(status, '•')} {STATUS_LABELS.get(status, status)}"


def _value(kr: KeyResultView, value: float | None, currency: str | None) -> str:
    return markdown_text(format_value(value, kr.unit, currency))


def _moved(report: Report, krs: list[tuple[KeyResultView, ObjectiveView]]) -> list[str]:
    lines = []
    moved = [
        (kr, o) for kr, o in krs if kr.change is not None and kr.change.delta not in {None, 0.0}
    ]
    moved.sort(key=lambda p: -abs(p[0].change.score_delta or 0) if p[0].change else 0.0)
    for kr, objective in moved:
        change = kr.change
        assert change is not None  # noqa: S101  (filtered above)
        delta = change.delta or 0.0
        better = (delta > 0) != (kr.start > kr.target)
        arrow = "▲" if delta > 0 else "▼"
        word = "better" if better else "worse"
        score = ""
        if change.score_before is not None and change.score_after is not None:
            score = (
                f", score {format_score(change.score_before)} → {format_score(change.score_after)}"
            )
        before = _value(kr, change.before, report.currency)
        after = _value(kr, change.after, report.currency)
        lines.append(
            f"- {arrow} **{markdown_text(kr.title)}**: {before} → {after} "
            f"({markdown_text(format_change(delta, kr.unit, report.currency))}, {word}{score}) "
            f"· _{markdown_text(objective.title)}_"
        )
    return lines or ["_Nothing moved since the last check-in._"]


def _at_risk(report: Report, krs: list[tuple[KeyResultView, ObjectiveView]]) -> list[str]:
    risky = [(kr, o) for kr, o in krs if kr.status in {"off_track", "at_risk"}]
    risky.sort(key=lambda p: (STATUS_ORDER.index(p[0].status), p[0].forecast_score or 0))
    lines = [
        f"- {_status(kr.status)}: **{markdown_text(kr.title)}**: now "
        f"{_value(kr, kr.value, report.currency)} of {_value(kr, kr.target, report.currency)}, "
        f"score {format_score(kr.score)}, forecast {format_score(kr.forecast_score)}, "
        f"expected by now {format_share(kr.expected)} · _{markdown_text(o.title)}_"
        for kr, o in risky
    ]
    return lines or ["_Nothing is at risk or off track._"]


def _needs_help(krs: list[tuple[KeyResultView, ObjectiveView]]) -> list[str]:
    lines = []
    for kr, _ in krs:
        latest = kr.check_ins[-1] if kr.check_ins else None
        said = []
        if latest is not None and latest.confidence is not None:
            low = " (low)" if latest.confidence <= LOW_CONFIDENCE else ""
            said.append(f"confidence {latest.confidence:g}/10{low}")
        if latest is not None and latest.comment:
            said.append(f"“{markdown_text(latest.comment)}”")
        asks = latest is not None and (
            latest.comment
            or (latest.confidence is not None and latest.confidence <= LOW_CONFIDENCE)
        )
        if asks and latest is not None:
            lines.append(
                f"- **{markdown_text(kr.title)}**: {'; '.join(said)} "
                f"(check-in of {format_day(latest.on)})"
            )
        if kr.error:
            lines.append(f"- ! **{markdown_text(kr.title)}**: error: {markdown_text(kr.error)}")
    return lines or ["_No low confidence, comments or errors._"]


def render_digest(report: Report) -> str:
    """The weekly check-in digest of ``report`` as Markdown."""
    title = f"{markdown_text(report.title)} · {markdown_text(report.cycle.name)}"
    out = [f"# {title}: weekly check-in", ""]
    if report.as_of is None:
        out += ["No sync has evaluated this cycle yet.", ""]
    else:
        share = expected_progress(CycleDates(report.cycle.start, report.cycle.end), report.as_of)
        out.append(
            f"As of {format_day(report.as_of)}: {format_share(share)} of the cycle "
            f"({format_day(report.cycle.start)} – {format_day(report.cycle.end)}) has passed."
        )
    counts = report.status_counts()
    if counts:
        listed = ", ".join(
            f"{counts[s]} {_status(s).lower()}" for s in STATUS_ORDER if counts.get(s)
        )
        out.append(f"Key results: {listed}.")
    if report.last_run is not None:
        run = report.last_run
        out.append(
            f"Last sync: {_status(run.outcome).lower()}, {run.kind.replace('_', '-')} "
            f"as of {format_day(run.as_of)}."
        )
    if report.stale:
        since = report.last_success.started_at.date() if report.last_success else None
        when = f"since {format_day(since)}" if since else "yet"
        out.append(f"**Out of date:** no sync has succeeded {when}.")
    out.append("")
    krs = [
        (kr, o)
        for o in report.all_objectives()
        for kr in o.key_results
        if kr.cycle.name == report.cycle.name
    ]
    out += ["## What moved since the last check-in", "", *_moved(report, krs), ""]
    out += ["## At risk and off track", "", *_at_risk(report, krs), ""]
    out += ["## Needs help", "", *_needs_help(krs), ""]
    out += ["## Objectives", ""]
    for objective in report.all_objectives():
        if objective.cycle.name != report.cycle.name:
            continue
        out.append(
            f"- {_status(objective.status)}: **{markdown_text(objective.title)}**: "
            f"score {format_score(objective.score)}, "
            f"forecast {format_score(objective.forecast_score)}"
        )
    return "\n".join(out).rstrip() + "\n"
