"""Which named metrics a CRM cannot compute, and how to map them to what it has.

The built-in catalogs assume objects and fields a given org may not have (a
plain Salesforce org has no ``Account.Customer_Since__c`` nor an
``NPS_Response__c`` object). :func:`uncomputable_metrics` describes, for each
connector instance, the objects and fields every named metric reads and
reports the metrics whose data is missing; :func:`explain` turns that into
lines for a person, with an example override for ``mappings/metrics.yaml``.
``okrsync plan`` prints them; ``okrsync doctor`` reuses both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okrsync.errors import ConnectorError
from okrsync.metric import ChurnRate, Duration, leaf_terms
from okrsync.plan import resolve_field

if TYPE_CHECKING:
    from collections.abc import Mapping

    from okrsync.catalog import Catalog
    from okrsync.connector import Connector, ObjectInfo
    from okrsync.metric import Expr

__all__ = ["Uncomputable", "explain", "metric_reads", "uncomputable_metrics"]

_OBJECT = "<your object>"
_FIELD = "<your field>"


@dataclass(frozen=True, slots=True)
class Uncomputable:
    """A named metric that a connector instance's CRM lacks the data for."""

    connector: str
    metric: str
    missing_objects: tuple[str, ...]
    """Objects the CRM does not have."""
    missing_fields: tuple[str, ...]
    """``Object.Field`` paths the CRM does not have (on objects it has)."""
    definition: dict[str, Any]
    """The metric's expression as written in its catalog."""

    def reasons(self) -> str:
        """``no object `X`, no field `Y.Z```."""
        parts = [f"no object `{o}`" for o in self.missing_objects]
        parts += [f"no field `{f}`" for f in self.missing_fields]
        return ", ".join(parts)

    def example(self) -> dict[str, Any]:
        """The expression with what is missing replaced by placeholders to fill in."""
        replaced: dict[str, Any] = _replace(
            self.definition, set(self.missing_objects), self._field_names()
        )
        return replaced

    def _field_names(self) -> set[str]:
        return {path.split(".", 1)[1] for path in self.missing_fields}


def metric_reads(expr: Expr) -> dict[str, set[str]]:
    """The fields (paths) an expression reads, per object."""
    reads: dict[str, set[str]] = {}
    for term in leaf_terms(expr):
        fields = reads.setdefault(term.object_name, set())
        for group in term.where_groups():
            fields.update(group)
        if isinstance(term, ChurnRate):
            fields.update({term.customer_since, term.churned_on})
            continue
        window = term.window_field()
        if window is not None:
            fields.add(window[0])
        if isinstance(term, Duration):
            fields.update({term.from_, *([term.end_field] if term.end_field else [])})
            related = term.related
            if related is not None:
                for obj, name in related.targets():
                    reads.setdefault(obj, set()).update({related.via, name})
                    for group in related.where_groups():
                        reads[obj].update(group)
        elif term.field:
            fields.add(term.field)
    return reads


def uncomputable_metrics(
    catalogs: Mapping[str, Catalog], connectors: Mapping[str, Connector]
) -> list[Uncomputable]:
    """The named metrics of each connector instance that its CRM lacks the data for.

    ``catalogs`` are the instances' catalogs (built-ins with the admin's
    overrides applied); an instance missing from ``connectors``, or whose CRM
    cannot be described, is left out (its pull reports that).
    """
    found: list[Uncomputable] = []
    for name, catalog in sorted(catalogs.items()):
        connector = connectors.get(name)
        if connector is None:
            continue
        described: dict[str, ObjectInfo | None] = {}
        try:
            for metric in catalog.names():
                item = _check(name, catalog, metric, connector, described)
                if item is not None:
                    found.append(item)
        except ConnectorError:
            continue
    return found


def _check(
    connector_name: str,
    catalog: Catalog,
    metric: str,
    connector: Connector,
    described: dict[str, ObjectInfo | None],
) -> Uncomputable | None:
    definition = catalog.definition(metric)
    resolved = catalog.resolve(metric, definition.origin)
    objects: list[str] = []
    fields: list[str] = []
    for obj, paths in sorted(metric_reads(resolved.expr).items()):
        if obj not in described:
            try:
                described[obj] = connector.describe(obj)
            except LookupError:
                described[obj] = None
        info = described[obj]
        if info is None:
            objects.append(obj)
            continue
        fields.extend(
            f"{obj}.{path}"
            for path in sorted(paths, key=str.lower)
            if resolve_field(connector, info, path) is None
        )
    if not objects and not fields:
        return None
    raw = definition.spec.metric
    written = raw if isinstance(raw, str) else raw.model_dump(mode="json", exclude_defaults=True)
    return Uncomputable(
        connector_name,
        metric,
        tuple(objects),
        tuple(fields),
        written if isinstance(written, dict) else {"metric": written},
    )


def _replace(value: Any, objects: set[str], fields: set[str]) -> Any:
    if isinstance(value, dict):
        return {
            _replace(k, objects, fields): _replace(v, objects, fields) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replace(v, objects, fields) for v in value]
    if not isinstance(value, str):
        return value
    head, dot, rest = value.partition(".")
    if head in objects:
        return _OBJECT + (f".{_FIELD}" if dot else "")
    if value in fields or (dot and rest in fields):
        return f"{head}.{_FIELD}" if dot else _FIELD
    return value


def explain(items: list[Uncomputable]) -> list[str]:
    """Lines telling which metrics cannot be computed and how to map them."""
    if not items:
        return []
    lines: list[str] = []
    for connector in sorted({i.connector for i in items}):
        mine = [i for i in items if i.connector == connector]
        lines.append(f"{connector} lacks the data of {len(mine)} named metric(s):")
        lines.extend(f"  {i.metric}: {i.reasons()}" for i in mine)
        lines.append("  Key results using them cannot be computed. Map each to what the CRM")
        lines.append("  has in mappings/metrics.yaml, for example:")
        lines += ["    version: 1", "    metrics:", f"      {connector}:"]
        for item in mine:
            lines += [f"        {item.metric}:", f"          metric: {_flow(item.example())}"]
    return lines


_PLAIN = re.compile(r"^[A-Za-z0-9_<][A-Za-z0-9_ .<>%/-]*$")


def _flow(value: Any) -> str:
    """``value`` as YAML in flow style (what a metric looks like in a mapping file)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and _PLAIN.match(value) and value not in {"true", "false", "null"}:
        return value
    return json.dumps(value)
