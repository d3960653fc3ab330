"""YAML loading that remembers where every key and value came from.

The loader composes the YAML node graph (ruamel.yaml, YAML 1.2, so ``no`` and
``on`` stay strings) and builds plain Python values from it, recording the
1-based line and column of every value and every mapping key by its path.
Instead of stopping at the first mistake it collects located problems:
duplicate keys, unsupported tags, bad encodings, runaway nesting.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from io import StringIO
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError, YAMLWarning
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from okrsync.errors import Problem

if TYPE_CHECKING:
    from pathlib import Path

_WARNING_MARK = re.compile(r"line (\d+), column (\d+)")
"""Where ruamel's warnings point (the last mark is the offending one)."""

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "LocatedDocument",
    "Mark",
    "YamlPath",
    "format_path",
    "load_yaml",
    "load_yaml_file",
]

YamlPath = tuple[str | int, ...]

MAX_DEPTH = 48
"""Deepest nesting accepted; mapping files need fewer than ten levels."""
MAX_NODES = 100_000
"""Most values one file may expand to (aliases count each time they are used)."""
MAX_BYTES = 5_000_000
"""Largest file read; mapping files are a few kilobytes."""

_TAG = "tag:yaml.org,2002:"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    col: int


def format_path(path: YamlPath) -> str:
    """Render a path the way an admin reads it: ``objectives[0].key_results[2].target``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(slots=True)
class LocatedDocument:
    """Plain data of one YAML document and the position of each part of it."""

    file: str
    data: Any
    values: dict[YamlPath, Mark] = field(default_factory=dict)
    keys: dict[YamlPath, Mark] = field(default_factory=dict)

    def mark(self, path: YamlPath, *, key: bool = False) -> Mark:
        """Position of the value (or of its key) at ``path``, else of its nearest ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        probe = path
        while probe:
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Mark(1, 1))

    def problem(self, path: YamlPath, message: str, *, key: bool = False) -> Problem:
        """A problem located at ``path``."""
        m = self.mark(path, key=key)
        return Problem(self.file, m.line, m.col, format_path(path), message)

    def get(self, path: YamlPath) -> Any:
        """The value at ``path`` (``None`` when absent)."""
        node: Any = self.data
        for part in path:
            if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
                continue
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
                continue
            return None
        return node


class _Builder:
    """Turns a composed node graph into plain values, recording positions and problems."""

    def __init__(self, doc: LocatedDocument) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.count = 0
        self.exhausted = False

    def fail(self, node: Node, path: YamlPath, message: str) -> None:
        m = node.start_mark
        self.problems.append(
            Problem(self.doc.file, m.line + 1, m.column + 1, format_path(path), message)
        )

    def build(self, node: Node, path: YamlPath, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            if not self.exhausted:
                self.exhausted = True
                self.fail(node, path, f"expected at most {MAX_NODES} values, the file has more")
            return None
        if depth > MAX_DEPTH:
            self.fail(node, path, f"expected at most {MAX_DEPTH} levels of nesting, got more")
            return None
        self.doc.values.setdefault(path, Mark(node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            self.check_tag(node, path, "seq")
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            self.check_tag(node, path, "map")
            out: dict[str, Any] = {}
            self.mapping(node, path, depth, out)
            return out
        self.fail(node, path, "expected a value, a list or a mapping")  # pragma: no cover
        return None

    def check_tag(self, node: Node, path: YamlPath, kind: str) -> None:
        if node.tag != _TAG + kind:
            self.fail(node, path, f"expected no YAML tag here, got `{_short(str(node.tag))}`")

    def mapping(self, node: MappingNode, path: YamlPath, depth: int, out: dict[str, Any]) -> None:
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, path, "expected a plain text key, got a list or mapping")
                continue
            key = str(key_node.value)
            kpath = (*path, key)
            mark = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in out:
                first = self.doc.keys.get(kpath)
                where = f" (first defined at line {first.line})" if first else ""
                self.fail(key_node, kpath, f"duplicate key `{key}`{where}")
                continue
            self.doc.keys[kpath] = mark
            out[key] = self.build(value_node, kpath, depth + 1)
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, MappingNode):
                    self.fail(source, path, "expected a mapping (or list of them) after `<<`")
                    continue
                merged: dict[str, Any] = {}
                self.mapping(source, path, depth, merged)
                for k, v in merged.items():
                    out.setdefault(k, v)

    def scalar(self, node: ScalarNode, path: YamlPath) -> Any:
        text = str(node.value)
        if node.style == ">":  # ruamel marks where a folded scalar was folded with \a
            text = text.replace("\a", "")
        tag = str(node.tag)
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return text.lower() == "true"
        if tag == _TAG + "int":
            return self.integer(node, path, text)
        if tag == _TAG + "float":
            return _float(text)
        if tag == _TAG + "timestamp":
            try:
                if len(text) == len("2026-07-01"):
                    return date.fromisoformat(text)
                return datetime.fromisoformat(text.replace(" ", "T", 1).replace("t", "T"))
            except ValueError:
                # not a real date (2026-09-31): plain text, which a field wanting a
                # date rejects with its own located message, hiding nothing else
                return text
        self.fail(node, path, f"expected no YAML tag here, got `{_short(tag)}`")
        return None

    def integer(self, node: ScalarNode, path: YamlPath, text: str) -> int | None:
        clean = text.replace("_", "")
        try:
            if clean.lower().startswith(("0o", "+0o", "-0o")):
                return int(clean.replace("o", "").replace("O", ""), 8)
            return int(clean, 0) if clean.lower().lstrip("+-").startswith("0x") else int(clean)
        except ValueError:
            self.fail(node, path, f"expected an integer, got '{text}'")
            return None


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _float(text: str) -> float:
    low = text.lower().lstrip("+")
    if low in {".inf", "-.inf"}:
        return -math.inf if low.startswith("-") else math.inf
    if low == ".nan":
        return math.nan
    return float(text.replace("_", ""))


def _decode(raw: bytes, file: str) -> tuple[str | None, Problem | None]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, Problem(file, 1, 1, "", "expected UTF-8 text, got a UTF-16 file")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        byte = raw[exc.start]
        return None, Problem(file, line, col, "", f"expected UTF-8 text, got byte 0x{byte:02x}")


def load_yaml(source: str | bytes, file: str) -> tuple[LocatedDocument, list[Problem]]:
    """Parse one YAML document; return its located data and every problem found.

    When a problem prevents reading the document at all (syntax, encoding), the
    returned document holds ``None``.
    """
    doc = LocatedDocument(file=file, data=None)
    if isinstance(source, bytes):
        if len(source) > MAX_BYTES:
            return doc, [Problem(file, 1, 1, "", f"expected at most {MAX_BYTES} bytes")]
        text, problem = _decode(source, file)
        if problem is not None or text is None:
            return doc, [problem] if problem else []
    else:
        text = source
    yaml = YAML(typ="rt", pure=True)
    try:
        with warnings.catch_warnings():
            # a reused anchor is a warning in ruamel (the later one wins): an error here
            warnings.simplefilter("error", YAMLWarning)
            root = yaml.compose(StringIO(text))
    except YAMLWarning as exc:
        found = _WARNING_MARK.findall(str(exc))
        line, col = (int(found[-1][0]), int(found[-1][1])) if found else (1, 1)
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return doc, [Problem(file, line, col, "", f"invalid YAML: {what}")]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(x for x in (exc.context, exc.problem) if x) or "invalid YAML"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return doc, [Problem(file, line, col, "", f"invalid YAML: {what}")]
    except YAMLError as exc:
        return doc, [Problem(file, 1, 1, "", f"invalid YAML: {exc}")]
    except RecursionError:
        return doc, [Problem(file, 1, 1, "", "invalid YAML: nesting too deep")]
    if root is None:
        return doc, []
    builder = _Builder(doc)
    doc.data = builder.build(root, ())
    return doc, builder.problems


def load_yaml_file(path: Path, display: str | None = None) -> tuple[LocatedDocument, list[Problem]]:
    """Read and parse ``path``; problems name it as ``display`` (default: the path)."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return LocatedDocument(file=name, data=None), [
            Problem(name, 0, 0, "", f"cannot read the file: {exc.strerror or exc}")
        ]
    return load_yaml(raw, name)
