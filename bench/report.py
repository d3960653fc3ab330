"""Write the benchmark's Markdown report and plot from the raw rows."""

# A benchmark helper, not a package module.
# ruff: noqa: INP001

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

__all__ = ["table", "write_report"]


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "—"


def table(rows: list[dict[str, Any]]) -> str:
    """The main table: one line per size, KRs, RTT and cycle."""
    naive = {(r["size"], r["krs"], r["rtt"]): r for r in rows if r["cycle"] == "naive"}
    lines = [
        (
            "| rows/CRM | KRs | RTT ms | cycle | API calls | floor | calls/floor | bulk floor "
            "| calls/bulk floor | wall s | latency floor s | wall/floor | search pacing s "
            "| rows pulled "
            "| replica rows | eval ms | eval all ms | peak RSS MiB "
            "| naive calls | naive wall s | calls/naive | wall/naive |"
        ),
        "|" + "---:|" * 22,
    ]
    for r in rows:
        if r["cycle"] == "naive":
            continue
        n = naive.get((r["size"], r["krs"], r["rtt"]))
        cells = [
            f"{r['size']:,}",
            str(r["krs"]),
            f"{r['rtt']:g}",
            r["cycle"],
            str(r["calls"]),
            str(r["floor"]),
            _ratio(r["calls"], r["floor"]),
            str(r.get("floor_bulk", r["floor"])),
            _ratio(r["calls"], r.get("floor_bulk", r["floor"])),
            f"{r['wall']:.2f}",
            f"{r['latency_floor']:.2f}",
            _ratio(r["wall"], r["latency_floor"]) if r["rtt"] else "—",
            f"{r['search_pacing']:.2f}" if r.get("search_pacing") else "—",
            f"{r['pulled']:,}",
            f"{r['replica_rows']:,}",
            f"{r['eval'] * 1000:.0f}",
            f"{r.get('eval_full', r['eval']) * 1000:.0f}",
            f"{r['rss_mib']:.0f}",
        ]
        if n:
            cells += [
                str(n["calls"]),
                f"{n['wall']:.2f}",
                _ratio(r["calls"], n["calls"]),
                _ratio(r["wall"], n["wall"]),
            ]
        else:
            cells += ["—"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _endpoints(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| rows/CRM | KRs | RTT ms | cycle | calls by CRM and endpoint | records written |",
        "|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        if r["cycle"] == "naive":
            continue
        calls = "; ".join(
            f"{crm}: " + ", ".join(f"{e} {n}" for e, n in sorted(eps.items()))
            for crm, eps in sorted(r["by_endpoint"].items())
        )
        written = "; ".join(
            f"{crm}: " + ", ".join(f"{o} {n}" for o, n in sorted(per.items()))
            for crm, per in sorted(r["written"].items())
            if per
        )
        lines.append(
            f"| {r['size']:,} | {r['krs']} | {r['rtt']:g} | {r['cycle']} | {calls} | {written} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """API calls and wall time against CRM size: okrsync, floor, naive (500 KRs or the most)."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    krs = max(r["krs"] for r in rows)
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    for rtt, style in ((0.0, "--"), (50.0, "-")):
        for cycle, colour in (
            ("cold", "tab:blue"),
            ("warm", "tab:green"),
            ("change", "tab:orange"),
            ("quarter", "tab:purple"),
        ):
            pts = sorted(
                (r["size"], r)
                for r in rows
                if r["krs"] == krs and r["rtt"] == rtt and r["cycle"] == cycle
            )
            if not pts:
                continue
            xs = [p[0] for p in pts]
            if rtt == 50.0:  # noqa: PLR2004
                axes[0].plot(
                    xs, [p[1]["calls"] for p in pts], "o-", color=colour, label=f"okrsync {cycle}"
                )
                axes[0].plot(
                    xs, [p[1]["floor"] for p in pts], "x:", color=colour, label=f"floor {cycle}"
                )
            axes[1].plot(
                xs,
                [p[1]["wall"] for p in pts],
                "o" + style,
                color=colour,
                label=f"okrsync {cycle}, RTT {rtt:g} ms",
            )
            if rtt == 50.0:  # noqa: PLR2004
                axes[1].plot(
                    xs,
                    [p[1]["latency_floor"] for p in pts],
                    "x:",
                    color=colour,
                    label=f"latency floor {cycle}, 50 ms",
                )
        naive = sorted(
            (r["size"], r)
            for r in rows
            if r["krs"] == krs and r["rtt"] == rtt and r["cycle"] == "naive"
        )
        if naive:
            xs = [p[0] for p in naive]
            if rtt == 50.0:  # noqa: PLR2004
                axes[0].plot(
                    xs,
                    [p[1]["calls"] for p in naive],
                    "s-",
                    color="tab:red",
                    label="naive per-KR script",
                )
            axes[1].plot(
                xs,
                [p[1]["wall"] for p in naive],
                "s" + style,
                color="tab:red",
                label=f"naive, RTT {rtt:g} ms",
            )
    for ax, title in (
        (axes[0], f"API calls per cycle ({krs} KRs)"),
        (axes[1], f"Wall time per cycle ({krs} KRs)"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("CRM rows (per CRM)")
        ax.set_title(title)
        ax.grid(visible=True, which="both", alpha=0.3)
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[0].set_ylabel("API calls")
    axes[1].set_ylabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _memory() -> str:
    try:
        return subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout  # noqa: S607
    except OSError:
        return "?"


def write_report(
    rows: list[dict[str, Any]],
    out: Path,
    *,
    command: str,
    started_at: datetime,
    seconds: float,
    load: tuple[str, str],
    machine: dict[str, Any],
) -> None:
    """Write the measured part of ``docs/benchmarks.md`` (between markers) and the plot."""
    png = out.with_suffix(".png")
    plot(rows, png)
    measured = "\n".join(
        [
            "<!-- measured: written by bench/run.py -->",
            f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; run took {seconds:.0f} s.",
            f"- Command: `{command}`",
            (
                f"- Machine: {machine['nproc']} CPUs (`nproc`), Python {machine['python']}, "
                f"{machine['platform']}."
            ),
            (
                f"- Load average (1/5/15 min) before: {load[0]}; after: {load[1]}. Wall "
                "times at 0 ms RTT are CPU-bound and move with the machine's load."
            ),
            "",
            "```",
            _memory().strip(),
            "```",
            "",
            table(rows),
            "",
            f"![API calls and wall time against CRM size]({png.name})",
            "",
            "Calls by endpoint (sandbox accounting):",
            "",
            _endpoints(rows),
            "<!-- /measured -->",
        ]
    )
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    start, end = "<!-- measured: written by bench/run.py -->", "<!-- /measured -->"
    if start in text and end in text:
        text = text[: text.index(start)] + measured + text[text.index(end) + len(end) :]
    else:
        text = (text or "# Benchmarks\n\n") + measured + "\n"
    out.write_text(text, encoding="utf-8")
