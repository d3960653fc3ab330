"""The status page and reports: one cycle's objectives, key results, check-ins and syncs.

:func:`build_report` reads what the page and the digest show from the state
store; :func:`render_page` draws it as one self-contained HTML document (inline
SVG burn-up charts, no script); :func:`render_digest` writes the weekly
check-in digest in Markdown; :func:`status_page` serves the page over WSGI.
"""

from __future__ import annotations

from okrsync.report.digest import render_digest
from okrsync.report.html import render_page
from okrsync.report.model import (
    CheckInView,
    CycleView,
    KeyResultView,
    ObjectiveView,
    OwnerShare,
    Report,
    RunView,
    UnknownCycleError,
    WeeklyChange,
    build_report,
)
from okrsync.report.web import status_page

__all__ = [
    "CheckInView",
    "CycleView",
    "KeyResultView",
    "ObjectiveView",
    "OwnerShare",
    "Report",
    "RunView",
    "UnknownCycleError",
    "WeeklyChange",
    "build_report",
    "render_digest",
    "render_page",
    "status_page",
]
