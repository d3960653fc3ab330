"""`validate` reports every problem, even when a file's cycle is itself invalid or unknown."""

from __future__ import annotations

from textwrap import dedent
from typing import TYPE_CHECKING

import pytest

from okrsync.errors import MappingError
from okrsync.mapping.loader import load_mappings

if TYPE_CHECKING:
    from pathlib import Path

OBJECTIVES = dedent("""\
    objectives:
      - key: o
        title: O
        key_results:
          - key: k
            title: K
            source: crm
            metric: {count: deals}
            target: eight
          - key: k2
            titel: K2
            source: crm
            metric: {count: deals}
            target: 10
          - {key: k3, title: K3, source: nowhere, metric: {count: deals}, target: 10}
""")
LATER = [
    (
        "11:17: objectives[0].key_results[0].target: expected a number or a percentage like `8%`, "
        "got 'eight'"
    ),
    "12:9: objectives[0].key_results[1]: missing required key `title`",
    (
        "13:9: objectives[0].key_results[1].titel: unknown key `titel` (did you mean `title`?); "
        "expected one of `key`, `title`, `description`, `kind`, `source`, `metric`, `start`, "
        "`target`, `weight`, `unit`, `owner`, `publish_to`, `accumulates`, `breakdown`, "
        "`for_each`, `targets`"
    ),
    (
        "17:38: objectives[0].key_results[2].source: unknown source `nowhere`; expected one of "
        "`crm` (the connectors of the configuration)"
    ),
]


def _problems(tmp_path: Path, head: str) -> list[str]:
    (tmp_path / "q3.yaml").write_text(head + OBJECTIVES)
    with pytest.raises(MappingError) as caught:
        load_mappings(tmp_path, sources={"crm": "memory"}, catalogs={})
    return [str(p).removeprefix(f"{tmp_path}/q3.yaml:") for p in caught.value.problems]


def test_an_impossible_cycle_date_hides_no_other_problem(tmp_path: Path) -> None:
    """`end: 2026-09-31` is reported once, and every problem of the objectives with it."""
    head = "version: 1\ncycle: {name: Q3, start: 2026-07-01, end: 2026-09-31}\n"
    assert _problems(tmp_path, head) == [
        "2:43: cycle.end: expected a date like 2026-07-01, got '2026-09-31'",
        *LATER,
    ]


def test_an_unknown_cycle_hides_no_other_problem(tmp_path: Path) -> None:
    """A file naming a cycle no file defines still has its objectives checked."""
    head = "version: 1\ncycle: 2026-Q4\n"
    assert _problems(tmp_path, head) == [
        (
            "2:8: cycle: unknown cycle `2026-Q4`; expected a cycle defined in a mapping file "
            "(none defined) or a definition `{name, start, end}`"
        ),
        *LATER,
    ]


def test_an_end_before_the_start_hides_no_other_problem(tmp_path: Path) -> None:
    """A cycle ending before it starts is reported with the objectives' problems."""
    head = "version: 1\ncycle: {name: Q3, start: 2026-07-01, end: 2026-06-30}\n"
    assert _problems(tmp_path, head) == [
        "2:43: cycle.end: expected an end on or after the start 2026-07-01, got 2026-06-30",
        *LATER,
    ]


def test_a_missing_mappings_folder_names_the_path_and_the_setting(tmp_path: Path) -> None:
    """The error says which absolute path was checked and how to set it."""
    with pytest.raises(MappingError) as caught:
        load_mappings(tmp_path / "nowhere", sources={}, catalogs={})
    assert str(caught.value).endswith(
        f"expected a folder of mapping files at {tmp_path / 'nowhere'}, which does not exist; "
        "set the folder with `mappings:` in the configuration file, OKRSYNC_MAPPINGS or "
        "--mappings (a relative path is from the working directory)"
    )
