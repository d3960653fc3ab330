"""Named metrics: each connector's built-in catalog plus the admin's own.

The core knows no CRM: a connector plugin ships its catalog as YAML (the same
``NamedMetricSpec`` entries admins write under ``metrics:`` in a mapping file).
For each connector instance the catalog is built from, in order of precedence:
the admin's metrics for that instance, the admin's metrics for its connector
type, the connector's built-in catalog.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync._validation import validate_located
from okrsync._yaml import load_yaml
from okrsync.errors import ConfigurationError, Problem
from okrsync.mapping.schema import CatalogFile, NamedMetricSpec
from okrsync.metric import Expr, Per, Ratio, RatioParts, Unit, accumulates, natural_unit
from okrsync.model import Origin

if TYPE_CHECKING:
    from collections.abc import Mapping

    from okrsync._yaml import YamlPath
    from okrsync.plugins import ConnectorPlugin

__all__ = [
    "Catalog",
    "MetricDefinition",
    "MetricResolutionError",
    "ResolvedMetric",
    "load_plugin_catalog",
]


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """A named metric and where it was defined."""

    name: str
    spec: NamedMetricSpec
    origin: Origin
    builtin: bool = False
    """Shipped with the connector (the admin overrides it rather than edits it)."""

    @property
    def unit(self) -> Unit | None:
        """The declared unit, if any."""
        return self.spec.unit


@dataclass(frozen=True, slots=True)
class ResolvedMetric:
    """A metric with every name replaced by its expression."""

    expr: Expr
    unit: Unit
    name: str | None = None
    """The catalog name the key result used, if it used one."""
    description: str | None = None
    accumulates: bool = False
    """Whether the metric accumulates (0 at the cycle's start, only grows) or is a level."""
    definitions: tuple[MetricDefinition, ...] = field(default=(), compare=False)
    """Every named definition the expression was built from (to locate its parts)."""

    @property
    def label(self) -> str:
        """How the metric is named in messages and in the CRM: its name, else ``custom``."""
        return self.name or "custom"


class MetricResolutionError(Exception):
    """A metric name could not be resolved; carries the located problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class Catalog:
    """The named metrics available to one connector instance."""

    def __init__(self, source: str, definitions: Mapping[str, MetricDefinition]) -> None:
        self.source = source
        self._definitions = dict(definitions)

    def __contains__(self, name: object) -> bool:
        return name in self._definitions

    def names(self) -> list[str]:
        """Every metric name, sorted."""
        return sorted(self._definitions)

    def definition(self, name: str) -> MetricDefinition:
        """The definition of ``name``."""
        return self._definitions[name]

    def with_overrides(self, definitions: Mapping[str, MetricDefinition]) -> Catalog:
        """A catalog where ``definitions`` replace or extend these."""
        return Catalog(self.source, {**self._definitions, **definitions})

    def resolve(self, ref: Any, at: Origin) -> ResolvedMetric:
        """Resolve a metric reference written at ``at``.

        Raises:
            MetricResolutionError: An unknown name, or names that refer to each other.
        """
        used: dict[str, MetricDefinition] = {}
        if isinstance(ref, str):
            definition = self._lookup(ref, at, ())
            used[ref] = definition
            expr = self._expand(
                definition.spec.metric, definition.origin, ("metric",), (ref,), used
            )
            unit = definition.unit or natural_unit(expr)
            nature = self._accumulates(definition, expr)
            return ResolvedMetric(
                expr, unit, ref, definition.spec.description, nature, tuple(used.values())
            )
        expr = self._expand(ref, at, (), (), used)
        return ResolvedMetric(
            expr,
            natural_unit(expr),
            accumulates=accumulates(expr),
            definitions=tuple(used.values()),
        )

    def _accumulates(self, definition: MetricDefinition, expr: Expr) -> bool:
        """A named metric's nature: the first ``accumulates:`` along its names, else inferred."""
        seen = {definition.name}
        while definition.spec.accumulates is None and isinstance(definition.spec.metric, str):
            name = definition.spec.metric
            if name in seen or name not in self._definitions:  # reported by _expand already
                break
            seen.add(name)
            definition = self._definitions[name]
        if definition.spec.accumulates is not None:
            return definition.spec.accumulates
        return accumulates(expr)

    def check_all(self) -> list[Problem]:
        """Problems in the definitions themselves (unknown names, cycles)."""
        problems: list[Problem] = []
        for name, definition in sorted(self._definitions.items()):
            try:
                self._expand(definition.spec.metric, definition.origin, ("metric",), (name,))
            except MetricResolutionError as exc:
                problems.append(exc.problem)
        return problems

    def _lookup(self, name: str, at: Origin, sub: YamlPath) -> MetricDefinition:
        if name in self._definitions:
            return self._definitions[name]
        message = f"unknown metric `{name}` for source `{self.source}`"
        close = difflib.get_close_matches(name, self._definitions, n=1, cutoff=0.6)
        if close:
            message += f" (did you mean `{close[0]}`?)"
        message += "; expected one of " + ", ".join(f"`{n}`" for n in self.names())
        message += " or a metric expression"
        raise MetricResolutionError(at.problem(message, sub))

    def _expand(
        self,
        ref: Any,
        at: Origin,
        sub: YamlPath,
        stack: tuple[str, ...],
        used: dict[str, MetricDefinition] | None = None,
    ) -> Expr:
        if isinstance(ref, str):
            if ref in stack:
                chain = " → ".join((*stack, ref))
                raise MetricResolutionError(
                    at.problem(f"metric names refer to each other in a loop: {chain}", sub)
                )
            definition = self._lookup(ref, at, sub)
            if used is not None:
                used[ref] = definition
            return self._expand(
                definition.spec.metric, definition.origin, ("metric",), (*stack, ref), used
            )
        if isinstance(ref, Ratio):
            numerator = self._expand(
                ref.ratio.numerator, at, (*sub, "ratio", "numerator"), stack, used
            )
            denominator = self._expand(
                ref.ratio.denominator, at, (*sub, "ratio", "denominator"), stack, used
            )
            return Ratio(ratio=RatioParts(numerator=numerator, denominator=denominator))
        if isinstance(ref, Per):
            numerator = self._expand(ref.per.numerator, at, (*sub, "per", "numerator"), stack)
            denominator = self._expand(ref.per.denominator, at, (*sub, "per", "denominator"), stack)
            return Per(per=RatioParts(numerator=numerator, denominator=denominator))
        expr: Expr = ref
        return expr


def load_plugin_catalog(plugin: ConnectorPlugin) -> Catalog:
    """Parse and check a connector's built-in catalog.

    Raises:
        ConfigurationError: The packaged catalog is broken (located problems).
    """
    display, content = plugin.catalog()
    doc, problems = load_yaml(content, display)
    parsed: CatalogFile | None = None
    if not problems:
        parsed, problems = validate_located(CatalogFile, doc)
    if parsed is not None and parsed.connector != plugin.name:
        problems.append(
            doc.problem(
                ("connector",),
                f"expected `{plugin.name}` (the plugin's name), got '{parsed.connector}'",
            )
        )
    if problems or parsed is None:
        raise ConfigurationError(problems)
    catalog = Catalog(
        plugin.name,
        {
            name: MetricDefinition(name, spec, Origin(doc, ("metrics", name)), builtin=True)
            for name, spec in parsed.metrics.items()
        },
    )
    broken = catalog.check_all()
    if broken:
        raise ConfigurationError(broken)
    return catalog
