"""How much a run synced, as the exit code a scheduler (cron, a Kubernetes CronJob) reads.

=====  ==================================================================
code   meaning
=====  ==================================================================
0      everything synced (every key result computed, every write made)
1      partly synced: some key results or writes failed, the rest synced;
       or the run stopped at the CRM's quota reserve after syncing some
2      bad input: the configuration, the mappings or a flag is wrong
       (each problem on stderr as ``file:line:col: …``); nothing was run
3      nothing synced: no key result could be computed, or no write
       reached the CRM, or the run failed
=====  ==================================================================

``plan``, ``sync``, ``check-in``, ``provision`` and ``doctor`` use these codes.
``doctor`` syncs nothing: it exits 0 when no check failed (warnings allowed)
and 2 when one did, since a failing check is bad set-up a person fixes (each
failure names its fix) before anything syncs; a bug in it exits 3.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ExitCode", "cycle_exit_code", "parts_exit_code"]


class ExitCode(IntEnum):
    """The exit codes of okrsync's commands."""

    SYNCED = 0
    """Everything synced."""
    PARTLY_SYNCED = 1
    """Some of it synced; the rest failed (see the report)."""
    BAD_INPUT = 2
    """Invalid configuration, mappings or flags; nothing was run."""
    NOTHING_SYNCED = 3
    """Nothing synced: every key result or every write failed, or the run failed."""


def cycle_exit_code(report: Mapping[str, Any]) -> ExitCode:
    """The exit code of a ``plan``, ``sync`` or ``check-in`` run, from its JSON report.

    A run synced nothing when none of its key results got a value, or when it
    had records to write and none reached the CRM (none written, none already
    up to date). A ``plan`` writes nothing, so only its key results count.
    """
    if report.get("outcome") == "succeeded":
        return ExitCode.SYNCED
    if report.get("outcome") == "failed":
        return ExitCode.NOTHING_SYNCED
    key_results = report.get("key_results") or []
    computed = sum(1 for kr in key_results if not kr.get("error"))
    writes = (report.get("writes") or {}).values()
    landed = sum(w.get("upserted", 0) + w.get("unchanged", 0) for w in writes)
    failed = sum(w.get("failed", 0) for w in writes)
    if not computed:
        return ExitCode.NOTHING_SYNCED
    if report.get("kind") != "plan" and failed and not landed:
        return ExitCode.NOTHING_SYNCED
    return ExitCode.PARTLY_SYNCED


def parts_exit_code(succeeded: int, failed: int) -> ExitCode:
    """The exit code of a command made of independent parts (``provision``: one per CRM)."""
    if not failed:
        return ExitCode.SYNCED
    return ExitCode.PARTLY_SYNCED if succeeded else ExitCode.NOTHING_SYNCED
