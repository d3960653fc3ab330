"""Fuzz the YAML reader and the mapping loader: no exception but the documented errors."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from okrsync._yaml import load_yaml
from okrsync.errors import MappingError, Problem
from okrsync.mapping.loader import load_mappings
from tests.e2e.conftest import MAPPINGS

from .conftest import LONG

if TYPE_CHECKING:
    from okrsync.catalog import Catalog

pytestmark = pytest.mark.drill

EXAMPLES = 3000 if LONG else 150
SOURCES = {"salesforce": "salesforce", "hubspot": "hubspot"}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
YAMLISH = st.lists(
    st.sampled_from(
        [
            "version: 1\n",
            "cycle: 2026-Q3\n",
            "objectives:\n",
            "  - key: o\n",
            "    title: t\n",
            "    key_results:\n",
            "      - key: k\n",
            "        source: salesforce\n",
            "        metric: win_rate\n",
            "        target: 35%\n",
            "&a ",
            "*a",
            "!!str ",
            "[",
            "]",
            "{",
            "}",
            ": ",
            "- ",
            "? ",
            "'",
            '"',
            "#",
            "\t",
            "\n",
            "  ",
            "|\n",
            ">\n",
            "%",
            "@",
            "\x00",
            "\ufeff",
            "1e999",
            ".nan",
            "-.inf",
            "~",
            "<<: *a\n",
            "---\n",
            "...\n",
        ]
    )
    | st.text(max_size=20),
    max_size=40,
).map("".join)


def _shipped() -> dict[str, Any]:
    yaml = YAML(typ="safe", pure=True)
    return {p.name: yaml.load(p.read_text(encoding="utf-8")) for p in MAPPINGS.glob("*.yaml")}


SHIPPED = _shipped()
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(["35%", "150%", "-1", "2026-02-30", "cycle", "salesforce", "nps", "*x"]),
)


def _mutate(data: Any, draw: st.DrawFn, depth: int = 0) -> Any:
    """``data`` with some nodes replaced, dropped or given extra keys."""
    if draw(st.integers(0, 9)) == 0 or depth > 12:
        return draw(LEAVES)
    if isinstance(data, dict):
        out = {k: _mutate(v, draw, depth + 1) for k, v in data.items() if draw(st.integers(0, 12))}
        if draw(st.integers(0, 6)) == 0:
            out[draw(st.text(max_size=10))] = draw(LEAVES)
        return out
    if isinstance(data, list):
        return [_mutate(v, draw, depth + 1) for v in data if draw(st.integers(0, 8))]
    return data


@st.composite
def mutated_mappings(draw: st.DrawFn) -> dict[str, str]:
    """Files of the shipped mappings with random mutations, dumped back to YAML."""
    yaml = YAML(typ="safe", pure=True)
    out = {}
    for name, data in SHIPPED.items():
        from io import StringIO  # noqa: PLC0415

        text = StringIO()
        yaml.dump(_mutate(data, draw), text)
        out[name] = text.getvalue()
    return out


@FUZZ
@given(st.one_of(YAMLISH, st.binary(max_size=200)))
def test_load_yaml_never_crashes(source: str | bytes) -> None:
    """``load_yaml`` of any text or bytes returns a document and problems with a file and a message."""
    _, problems = load_yaml(source, "fuzz.yaml")
    for problem in problems:
        assert problem.file == "fuzz.yaml"
        assert problem.message


def _load(files: dict[str, str | bytes], catalogs: dict[str, Catalog]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            path = Path(folder) / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        problems: tuple[Problem, ...] = ()
        try:
            load_mappings(Path(folder), sources=SOURCES, catalogs=catalogs)
        except MappingError as exc:
            problems = exc.problems or (Problem("", 0, 0, "", "no located problem"),)
        assert all(p.file and p.message for p in problems), problems


@FUZZ
@given(st.one_of(YAMLISH, st.binary(max_size=200)))
def test_load_mappings_of_random_text(catalogs: dict[str, Catalog], source: str | bytes) -> None:
    """A mapping folder holding one random YAML-ish file loads or raises a located MappingError."""
    _load({"fuzz.yaml": source}, catalogs)


@FUZZ
@given(mutated_mappings())
def test_load_mappings_of_mutated_shipped_files(
    catalogs: dict[str, Catalog], files: dict[str, str]
) -> None:
    """The shipped mappings with random mutations load or raise a located MappingError."""
    _load(files, catalogs)
