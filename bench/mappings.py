"""Generate N valid key results over both CRMs for the benchmark.

Catalog metrics of both connectors, spread over several cycles (so the windows
differ), with varied targets. One mapping file per cycle; ten KRs per objective.
With ``breakdown``, every key result is also computed per owner
(``breakdown: owner``); HubSpot's NPS, whose feedback submissions have no
owner, is replaced by its open-deal count.
"""

# A benchmark helper, not a package module.
# ruff: noqa: INP001

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CYCLES", "write_mappings"]

CYCLES = (
    ("2026-Q3", "2026-07-01", "2026-09-30"),
    ("2026-H2", "2026-07-01", "2026-12-31"),
    ("2026-Q2", "2026-04-01", "2026-06-30"),
    ("2026-FY", "2026-01-01", "2026-12-31"),
    ("2026-Q1", "2026-01-01", "2026-03-31"),
)
# metric → (start, target) base values; percentages as fractions.
METRICS = {
    "won_revenue": (0, 2_000_000),
    "pipeline_value": (0, 5_000_000),
    "pipeline_count": (0, 400),
    "win_rate": (0.24, 0.35),
    "avg_deal_size": (40_000, 55_000),
    "new_pipeline": (0, 3_000_000),
    "lead_conversion_rate": (0.05, 0.12),
    "qualified_lead_rate": (0.2, 0.4),
    "nps": (30, 50),
    "customer_churn_rate": (0.09, 0.05),
}
SOURCES = ("salesforce", "hubspot")
PER_OBJECTIVE = 10


def write_mappings(folder: Path, count: int, *, breakdown: bool = False) -> int:
    """Write ``count`` key results into ``folder`` (created); return the count written.

    ``breakdown``: every key result broken down by owner.
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = list(METRICS)
    per_cycle: dict[str, list[dict[str, object]]] = {c[0]: [] for c in CYCLES}
    for i in range(count):
        metric = names[i % len(names)]
        source = SOURCES[(i + i // len(names)) % 2]
        if breakdown and source == "hubspot" and metric == "nps":
            metric = "pipeline_count"  # HubSpot's feedback submissions have no owner
        cycle = CYCLES[(i // (2 * len(names))) % len(CYCLES)][0]
        start, target = METRICS[metric]
        scale = 1 + (i % 7) / 10
        kr: dict[str, object] = {
            "key": f"kr-{i:04d}-{metric.replace('_', '-')}",
            "title": f"Benchmark KR {i} on {metric} ({source})",
            "source": source,
            "metric": metric,
            "start": start,
            "target": round(target * scale, 4) if target > start else target,
        }
        if breakdown:
            kr["breakdown"] = "owner"
        per_cycle[cycle].append(kr)
    for name, start, end in CYCLES:
        krs = per_cycle[name]
        if not krs:
            continue
        objectives = [
            {
                "key": f"objective-{j // PER_OBJECTIVE:03d}",
                "title": f"Benchmark objective {j // PER_OBJECTIVE} of {name}",
                "owner": {"team": "Management"},
                "key_results": krs[j : j + PER_OBJECTIVE],
            }
            for j in range(0, len(krs), PER_OBJECTIVE)
        ]
        doc = {
            "version": 1,
            "cycle": {"name": name, "start": start, "end": end},
            "objectives": objectives,
        }
        # JSON is YAML: no dumper needed.
        (folder / f"bench-{name}.yaml").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return count
