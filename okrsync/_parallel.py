"""Run one job per CRM at once: the CRMs are independent, so their round trips overlap.

A connector is used by one thread at a time, unless it says it takes
``concurrent_pulls`` greater than one (see :mod:`okrsync.pull`); the jobs share
the state store, whose writes are short transactions.
Log context (``structlog.contextvars``) follows each job into its thread.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from okrsync.errors import QuotaReserveReached

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["run_each"]


def run_each(
    jobs: Sequence[Callable[[], None]], *, name: str = "okrsync", width: int | None = None
) -> None:
    """Run every job to its end, concurrently when there are several (at most ``width`` at once).

    Raises:
        QuotaReserveReached: when a job stopped at a CRM's quota reserve (after
            the other jobs finished).
        Exception: the first other exception a job raised, likewise.
    """
    if len(jobs) <= 1:
        for job in jobs:
            job()
        return
    workers = len(jobs) if width is None else max(1, min(width, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        futures = [pool.submit(contextvars.copy_context().run, job) for job in jobs]
    errors = [e for e in (f.exception() for f in futures) if e is not None]
    quota = next((e for e in errors if isinstance(e, QuotaReserveReached)), None)
    if quota is not None:
        raise quota
    if errors:
        raise errors[0]
