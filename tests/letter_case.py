"""Text compared in any letter case beyond ASCII, over a replica on any state store.

Shared by the SQLite tests (``test_compute``) and the PostgreSQL ones
(``test_scale_out``): each database has its own idea of ``lower()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync.compute import evaluate
from okrsync.connector import FieldInfo
from okrsync.mapping.loader import load_mappings
from okrsync.state.replica import Replica

if TYPE_CHECKING:
    from datetime import date
    from pathlib import Path

    from sqlalchemy.engine import Engine

ACCOUNTS = ["Müller GmbH", "ÉCOLE Lumière", "Straße AG", "Plain Ltd", "ÖKO Bäckerei", None]
"""Names of the replicated accounts (one without a name)."""

KEY_RESULTS = {
    "upper": "{Name: MÜLLER GMBH}",
    "lower": "{Name: müller gmbh}",
    "in": "{Name: [école lumière, PLAIN LTD]}",
    "ne": "{Name: {ne: öko bäckerei}}",
    "not_in": "{Name: {not_in: [MÜLLER GMBH, straße ag]}}",
    "folded": "{Name: STRASSE AG}",
}
"""Key result → its ``where``; expected counts in :data:`EXPECTED`."""

EXPECTED = {"upper": 1.0, "lower": 1.0, "in": 2.0, "ne": 5.0, "not_in": 4.0, "folded": 0.0}
"""``ne`` and ``not_in`` count the account without a name; ``ß`` is not ``SS`` (case only)."""


def letter_case_counts(engine: Engine, folder: Path, as_of: date) -> dict[str, float | None]:
    """Count the accounts each of :data:`KEY_RESULTS` selects, over a replica in ``engine``."""
    replica = Replica(engine)
    table = replica.ensure("salesforce", "Account", {"Name": FieldInfo("Name", "string")})
    with engine.begin() as conn:
        table.upsert(conn, [{"Id": f"a{i}", "Name": n} for i, n in enumerate(ACCOUNTS)])
    lines = [
        f"      - {{key: {key}, title: T, source: salesforce, "
        f"metric: {{count: Account, where: {where}}}, target: 1}}"
        for key, where in KEY_RESULTS.items()
    ]
    (folder / "m.yaml").write_text(
        "version: 1\ncycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}\n"
        "objectives:\n  - key: o\n    title: O\n    key_results:\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    loaded = load_mappings(folder, sources={"salesforce": "salesforce"}, catalogs={})
    result = evaluate(engine, replica, list(loaded.key_results()), as_of)
    return {key.rsplit("/", 1)[1]: v.value for key, v in result.items()}
