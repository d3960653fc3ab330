"""Metric expressions: what a key result measures, independent of any CRM.

An expression is one of

- an aggregate over one object: ``{count: Task}``, ``{sum: Opportunity.Amount}``,
  ``avg``, ``min``, ``max``, ``count_distinct``;
- ``{ratio: {numerator: …, denominator: …}}`` of two metrics;
- ``{nps: Survey.Score}``: net promoter score of a 0–10 field;
- ``{churn_rate: Account, customer_since: …, churned_on: …}``: share of the
  customers active at cycle start who churned during the cycle;
- ``{avg_duration: Lead, from: CreatedDate, to: …, in: hours}`` (or
  ``median_duration``): the time between two date or date-time fields of a
  record, or from one field to the first related record
  (``to: {first: Task.CreatedDate, via: WhoId}``), in hours or days;
- ``{per: {numerator: …, denominator: …}}``: the quotient of two metrics, any
  number (revenue per customer), where ``ratio`` is a fraction in [0, 1];

each with an optional ``where`` (a mapping of field conditions, all of which
must hold, or a list of such mappings, any of which must hold) and, except
``ratio`` and ``per``, an optional ``window`` on one date field. Anywhere a
metric is expected, a metric name from the catalog may stand instead.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "AGGREGATIONS",
    "Aggregate",
    "ChurnRate",
    "Condition",
    "Duration",
    "Expr",
    "FieldRef",
    "FirstRelated",
    "MetricRef",
    "Nps",
    "Operators",
    "Per",
    "Percentage",
    "Ratio",
    "RatioParts",
    "Unit",
    "Where",
    "WindowRange",
    "accumulates",
    "describe_value",
    "leaf_terms",
    "matching",
    "natural_unit",
    "parse_number",
    "window_bounds",
]

AGGREGATIONS = ("count", "sum", "avg", "min", "max", "count_distinct")
DURATIONS = ("avg_duration", "median_duration")
EXPRESSION_KEYS = (*AGGREGATIONS, "ratio", "per", "nps", "churn_rate", *DURATIONS)


class Unit(StrEnum):
    """What a metric's values are, for validation and display."""

    COUNT = "count"
    NUMBER = "number"
    CURRENCY = "currency"
    PERCENT = "percent"
    """A fraction in [0, 1], shown as a percentage."""
    NPS = "nps"
    """Net promoter score, −100..100."""
    HOURS = "hours"
    """A duration in hours."""
    DAYS = "days"
    """A duration in days."""


class Percentage(float):
    """A number that was written as a percentage (``"15%"`` → 0.15)."""

    __slots__ = ()


_SHOWN = 60
"""Longest text quoted in an error message."""


def describe_value(value: Any) -> str:
    """How an error message shows what it got."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Percentage):
        return f"`{value * 100:g}%`"
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN else value[: _SHOWN - 3] + "..."
        return repr(shown)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:  # noqa: PLR2004
        return str(int(value))
    return str(value)


def _fail(kind: str, expected: str, value: Any) -> NoReturn:
    raise PydanticCustomError(kind, f"expected {expected}, got {describe_value(value)}")


_PERCENT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*%\s*$")
_NUMBER_EXPECTED = "a number or a percentage like `8%`"


def parse_number(value: Any) -> float:
    """Accept a finite number or a percentage string (``"15%"`` → ``Percentage(0.15)``)."""
    if isinstance(value, bool):
        _fail("number", _NUMBER_EXPECTED, value)
    if isinstance(value, (int, float)):
        if isinstance(value, int) and abs(value) > 10**15:  # float() of a huge int overflows
            _fail("number", "a number of at most 1e15 in size", value)
        number = float(value)
        if not math.isfinite(number):
            _fail("number", "a finite number", value)
        if abs(number) > 1e15:  # noqa: PLR2004  (beyond exact float integers and any CRM amount)
            _fail("number", "a number of at most 1e15 in size", value)
        return number
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            return Percentage(float(match.group(1)) / 100)
        try:
            number = float(value)
        except ValueError:
            _fail("number", _NUMBER_EXPECTED, value)
        return parse_number(number)
    return _fail("number", _NUMBER_EXPECTED, value)


Number = Annotated[
    float,
    PlainValidator(parse_number),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*%\s*$"},
            ],
            "description": "A number, or a percentage like `15%` (the same as 0.15).",
        }
    ),
]

_OBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_FIELD_REF = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)$"
)
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def matching(
    pattern: re.Pattern[str], kind: str, expected: str, *, numbers: bool = False
) -> PlainValidator:
    """A validator accepting strings that match ``pattern``.

    With ``numbers``, a non-negative integer is read as its text (YAML reads
    ``name: 2026`` as a number).
    """

    def check(value: Any) -> str:
        if numbers and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            value = str(value)
        if not isinstance(value, str) or not pattern.match(value):
            _fail(kind, expected, value)
        return value

    return PlainValidator(check)


_object_name = matching(_OBJECT, "object_name", "a CRM object name like `Opportunity` or `deals`")
_field_name = matching(_FIELD, "field_name", "a field name like `CloseDate` or `Owner.Email`")
_field_ref = matching(_FIELD_REF, "field_ref", "`Object.Field` like `Opportunity.Amount`")
_metric_name = matching(
    _METRIC_NAME, "metric_name", "a metric name like `win_rate` (lowercase letters, digits, `_`)"
)


ObjectName = Annotated[
    str,
    _object_name,
    WithJsonSchema({"type": "string", "pattern": _OBJECT.pattern, "description": "CRM object"}),
]
FieldName = Annotated[
    str,
    _field_name,
    WithJsonSchema({"type": "string", "pattern": _FIELD.pattern, "description": "CRM field"}),
]
FieldRef = Annotated[
    str,
    _field_ref,
    WithJsonSchema(
        {"type": "string", "pattern": _FIELD_REF.pattern, "description": "`Object.Field`"}
    ),
]
MetricName = Annotated[
    str,
    _metric_name,
    WithJsonSchema({"type": "string", "pattern": _METRIC_NAME.pattern}),
]


def _scalar(value: Any) -> Any:
    if isinstance(value, (str, int, float, date)) and not (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return value
    return _fail(
        "condition_value",
        "a text, number, true/false or date value (use `{is_null: true}` for empty fields)",
        value,
    )


Scalar = Annotated[
    str | bool | int | float | date | datetime,
    PlainValidator(_scalar),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Operators(_Strict):
    """Comparisons on one field, all of which must hold (``{gte: 100, lt: 500}``)."""

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(None, alias="in")
    not_in: tuple[Scalar, ...] | None = None
    gt: Scalar | None = None
    gte: Scalar | None = None
    lt: Scalar | None = None
    lte: Scalar | None = None
    is_null: bool | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Operators:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "operators",
                "expected at least one of `eq`, `ne`, `in`, `not_in`, "
                "`gt`, `gte`, `lt`, `lte`, `is_null`, got an empty mapping",
            )
        return self

    def items(self) -> list[tuple[str, Any]]:
        """The operators that are set, by their YAML names."""
        return [
            ("in" if name == "in_" else name, getattr(self, name))
            for name in type(self).model_fields
            if name in self.model_fields_set
        ]


def _invalid_condition(value: Any) -> NoReturn:
    _fail(
        "condition",
        "a value, a list of values or operators like `{gte: 100}` "
        "(use `{is_null: true}` for empty fields)",
        value,
    )


def _condition_kind(value: Any) -> str:
    if isinstance(value, (dict, Operators)):
        return "<operators>"
    if isinstance(value, (list, tuple)):
        return "<list>"
    if value is None:
        return "<invalid>"
    return "<value>"


Condition = Annotated[
    Annotated[Scalar, Tag("<value>")]
    | Annotated[tuple[Scalar, ...], Tag("<list>")]
    | Annotated[Operators, Tag("<operators>")]
    | SkipJsonSchema[Annotated[Any, PlainValidator(_invalid_condition), Tag("<invalid>")]],
    Discriminator(_condition_kind),
]
"""A value means equality, a list means "one of", a mapping holds operators."""

Conditions: TypeAlias = dict[FieldName, Condition]


def _where_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "<all>"
    if isinstance(value, (list, tuple)):
        return "<any>"
    return "<invalid>"


def _invalid_where(value: Any) -> NoReturn:
    _fail("where", "a mapping of field conditions, or a list of them (any of)", value)


Where = Annotated[
    Annotated[Conditions, Tag("<all>")]
    | Annotated[tuple[Conditions, ...], Tag("<any>")]
    | SkipJsonSchema[Annotated[Any, PlainValidator(_invalid_where), Tag("<invalid>")]],
    Discriminator(_where_kind),
]

_WINDOW = re.compile(r"^(cycle|cycle_to_date|all_time|last_([1-9][0-9]{0,4})_days)$")
_WINDOW_EXPECTED = "`cycle`, `cycle_to_date`, `last_N_days` (like `last_30_days`) or `all_time`"


def _window_range(value: Any) -> str:
    if not isinstance(value, str) or not _WINDOW.match(value):
        _fail("window", _WINDOW_EXPECTED, value)
    return value


WindowRange = Annotated[
    str,
    PlainValidator(_window_range),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": ["cycle", "cycle_to_date", "all_time"]},
                {"type": "string", "pattern": r"^last_[1-9][0-9]{0,4}_days$"},
            ]
        }
    ),
]


def _one_window(value: dict[str, str]) -> dict[str, str]:
    if len(value) != 1:
        raise PydanticCustomError(
            "window",
            "expected exactly one date field like `{CloseDate: cycle}`, got {n}",
            {"n": len(value)},
        )
    return value


Window = Annotated[dict[FieldName, WindowRange], AfterValidator(_one_window)]


class _WithWhere(_Strict):
    where: Where | None = None

    def where_groups(self) -> list[dict[str, Condition]]:
        """The ``where`` as a list of groups: any group may hold, all conditions in it must."""
        if self.where is None:
            return []
        if isinstance(self.where, dict):
            return [dict(self.where)]
        return [dict(group) for group in self.where]


class _Filtered(_WithWhere):
    window: Window | None = None

    def window_field(self) -> tuple[str, str] | None:
        """``(date field, range)`` of the window, if any."""
        if not self.window:
            return None
        return next(iter(self.window.items()))


class Aggregate(_Filtered):
    """Count rows of an object, or aggregate a field (sum, avg, min, max, count_distinct)."""

    count: ObjectName | None = None
    sum_: FieldRef | None = Field(None, alias="sum")
    avg: FieldRef | None = None
    min_: FieldRef | None = Field(None, alias="min")
    max_: FieldRef | None = Field(None, alias="max")
    count_distinct: FieldRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Aggregate:
        given = [name for name in AGGREGATIONS if self._target(name) is not None]
        if not given:  # e.g. `sum: null`: the key is there, its object or field is not
            raise PydanticCustomError(
                "aggregate",
                "expected one of `count`, `sum`, `avg`, `min`, `max`, `count_distinct` "
                "with an object or `Object.Field`, got none",
            )
        if len(given) > 1:
            raise PydanticCustomError(
                "aggregate",
                "expected exactly one of `count`, `sum`, `avg`, `min`, `max`, "
                "`count_distinct`, got {given}",
                {"given": " and ".join(f"`{g}`" for g in given)},
            )
        return self

    def _target(self, name: str) -> str | None:
        value: str | None = getattr(
            self, {"sum": "sum_", "min": "min_", "max": "max_"}.get(name, name)
        )
        return value

    @property
    def function(self) -> str:
        """The aggregation: ``count``, ``sum``, ``avg``, ``min``, ``max`` or ``count_distinct``."""
        return next(name for name in AGGREGATIONS if self._target(name) is not None)

    @property
    def object_name(self) -> str:
        """The CRM object aggregated over."""
        return (self._target(self.function) or "").split(".", 1)[0]

    @property
    def field(self) -> str | None:
        """The aggregated field (``None`` for ``count``)."""
        target = self._target(self.function) or ""
        return target.split(".", 1)[1] if "." in target else None


class Nps(_Filtered):
    """Net promoter score of a 0–10 field: % promoters (9–10) − % detractors (0–6)."""

    nps: FieldRef

    @property
    def object_name(self) -> str:
        """The CRM object holding the responses."""
        return self.nps.split(".", 1)[0]

    @property
    def field(self) -> str:
        """The 0–10 score field."""
        return self.nps.split(".", 1)[1]


class ChurnRate(_WithWhere):
    """Share of customers active at cycle start that churned by the as-of date.

    Active at start: ``customer_since`` before the cycle start and ``churned_on``
    empty or on/after the start. Churned: of those, ``churned_on`` in the cycle
    up to the as-of date.
    """

    churn_rate: ObjectName
    customer_since: FieldName
    churned_on: FieldName

    @property
    def object_name(self) -> str:
        """The CRM object of customers."""
        return self.churn_rate


_DURATION_UNITS = {"hours": 3_600, "days": 86_400}
_MISSING_END = ("exclude", "as_of")


def _duration_unit(value: Any) -> str:
    if not isinstance(value, str) or value not in _DURATION_UNITS:
        _fail("duration_unit", "`hours` or `days`", value)
    return value


DurationUnit = Annotated[
    str,
    PlainValidator(_duration_unit),
    WithJsonSchema(
        {"enum": list(_DURATION_UNITS), "description": "The unit of the result: hours or days."}
    ),
]


def _missing_end(value: Any) -> str:
    if not isinstance(value, str) or value not in _MISSING_END:
        _fail(
            "missing_end",
            "`exclude` (records without an end are left out) or `as_of` (they count as "
            "open up to the end of the as-of date)",
            value,
        )
    return value


MissingEnd = Annotated[
    str,
    PlainValidator(_missing_end),
    WithJsonSchema(
        {
            "enum": list(_MISSING_END),
            "default": "exclude",
            "description": "Records without an end (or with one after the as-of date): "
            "left out (`exclude`), or counted as open up to the end of the as-of date (`as_of`).",
        }
    ),
]


def _related_times(value: Any) -> tuple[str, ...]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    expected = "`Object.Field` like `Task.CreatedDate`, or a list of them"
    if not items:
        _fail("first", expected, value)
    for item in items:
        if not isinstance(item, str) or not _FIELD_REF.match(item):
            _fail("first", expected, item)
    objects = [item.split(".", 1)[0] for item in items]
    twice = sorted({o for o in objects if objects.count(o) > 1})
    if twice:
        raise PydanticCustomError(
            "first",
            "expected one date field per related object, got object {objects} more than once",
            {"objects": ", ".join(f"`{o}`" for o in twice)},
        )
    return tuple(items)


RelatedTimes = Annotated[
    tuple[str, ...],
    PlainValidator(_related_times),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _FIELD_REF.pattern},
                {
                    "type": "array",
                    "items": {"type": "string", "pattern": _FIELD_REF.pattern},
                    "minItems": 1,
                },
            ],
            "description": "The date or date-time field of the related records "
            "(`Task.CreatedDate`), or one per related object.",
        }
    ),
]


class FirstRelated(_WithWhere):
    """The end of a duration at the first related record: ``{first: Task.CreatedDate, via: WhoId}``.

    The related records are those whose ``via`` field holds the measured
    record's id; the end is the earliest of their ``first`` dates that is not
    before the start (an activity logged before the lead existed answers
    nothing). ``where`` filters the related records.
    """

    first: RelatedTimes
    via: FieldName = Field(
        description="The field of the related records that holds the measured record's id "
        "(a lookup, like `WhoId`)."
    )

    def targets(self) -> list[tuple[str, str]]:
        """``(object, date field)`` of each related object."""
        return [(ref.split(".", 1)[0], ref.split(".", 1)[1]) for ref in self.first]


def _end_kind(value: Any) -> str:
    if isinstance(value, str):
        return "<field>"
    if isinstance(value, (dict, FirstRelated)):
        return "<first>"
    return "<invalid>"


def _invalid_end(value: Any) -> NoReturn:
    _fail(
        "duration_end",
        "a date field of the same record like `ConvertedDate`, or the first related record "
        "like `{first: Task.CreatedDate, via: WhoId}`",
        value,
    )


DurationEnd = Annotated[
    Annotated[FieldName, Tag("<field>")]
    | Annotated[FirstRelated, Tag("<first>")]
    | SkipJsonSchema[Annotated[Any, PlainValidator(_invalid_end), Tag("<invalid>")]],
    Discriminator(_end_kind),
]


def _duration_window_kind(value: Any) -> str:
    if isinstance(value, str):
        return "<range>"
    if isinstance(value, dict):
        return "<fields>"
    return "<invalid>"


def _invalid_duration_window(value: Any) -> NoReturn:
    _fail(
        "window",
        f"{_WINDOW_EXPECTED} (on the `from` field), or one date field like "
        "`{CreatedDate: cycle}`",
        value,
    )


DurationWindow = Annotated[
    Annotated[WindowRange, Tag("<range>")]
    | Annotated[Window, Tag("<fields>")]
    | SkipJsonSchema[Annotated[Any, PlainValidator(_invalid_duration_window), Tag("<invalid>")]],
    Discriminator(_duration_window_kind),
]


class Duration(_WithWhere):
    """Average or median time from one date field of a record to another, in hours or days.

    ``to`` is a field of the same record, or the first related record
    (:class:`FirstRelated`). Durations whose end is missing, after the as-of
    date or before the start are left out (``missing_end: as_of`` counts a
    missing end as the end of the as-of date instead); no durations, no value.
    A ``window`` given as a range alone applies to the ``from`` field.
    """

    avg_duration: ObjectName | None = None
    median_duration: ObjectName | None = None
    from_: FieldName = Field(alias="from", description="The date or date-time the duration starts.")
    to: DurationEnd = Field(description="Where it ends: a field, or the first related record.")
    in_: DurationUnit = Field(alias="in")
    window: DurationWindow | None = None
    missing_end: MissingEnd = "exclude"

    @model_validator(mode="after")
    def _exactly_one(self) -> Duration:
        if (self.avg_duration is None) == (self.median_duration is None):
            got = "both" if self.avg_duration is not None else "neither"
            raise PydanticCustomError(
                "duration",
                f"expected exactly one of `avg_duration` or `median_duration`, got {got}",
            )
        return self

    @property
    def function(self) -> str:
        """``avg`` or ``median``."""
        return "avg" if self.avg_duration is not None else "median"

    @property
    def object_name(self) -> str:
        """The CRM object whose records are measured."""
        return self.avg_duration or self.median_duration or ""

    @property
    def end_field(self) -> str | None:
        """The end field of the same record (``None`` when it is a related record)."""
        return self.to if isinstance(self.to, str) else None

    @property
    def related(self) -> FirstRelated | None:
        """The first related record that ends the duration, if that is the end."""
        return self.to if isinstance(self.to, FirstRelated) else None

    @property
    def seconds(self) -> int:
        """Seconds in the unit of the result."""
        return _DURATION_UNITS[self.in_]

    def window_field(self) -> tuple[str, str] | None:
        """``(date field, range)`` of the window, if any (a bare range is on ``from``)."""
        if self.window is None:
            return None
        if isinstance(self.window, str):
            return self.from_, self.window
        return next(iter(self.window.items()))


class RatioParts(_Strict):
    """The two metrics of a ratio or a quotient."""

    numerator: MetricRef
    denominator: MetricRef


class Ratio(_Strict):
    """``numerator / denominator``; a zero denominator gives no value."""

    ratio: RatioParts


class Per(_Strict):
    """``numerator / denominator``, any number; a zero denominator gives no value.

    Revenue per customer, deals per rep: unlike ``ratio``, the result is not a
    fraction in [0, 1].
    """

    per: RatioParts


def _metric_kind(value: Any) -> str:
    if isinstance(value, str):
        return "<name>"
    for cls, tag in _CLASS_TAGS:
        if isinstance(value, cls):
            return tag
    if isinstance(value, dict):
        for key in ("ratio", "per", "nps", "churn_rate"):
            if key in value:
                return f"<{key}>"
        if any(key in value for key in DURATIONS):
            return "<duration>"
        if any(key in value for key in AGGREGATIONS):
            return "<aggregate>"
    return "<invalid>"


_CLASS_TAGS: tuple[tuple[type, str], ...] = (
    (Aggregate, "<aggregate>"),
    (Ratio, "<ratio>"),
    (Per, "<per>"),
    (Nps, "<nps>"),
    (ChurnRate, "<churn_rate>"),
    (Duration, "<duration>"),
)


def _invalid_metric(value: Any) -> NoReturn:
    expected = "a metric name or an expression with one of " + ", ".join(
        f"`{k}`" for k in EXPRESSION_KEYS
    )
    if isinstance(value, dict):
        keys = ", ".join(f"`{k}`" for k in value) or "none"
        raise PydanticCustomError("metric", f"expected {expected}, got keys {keys}")
    _fail("metric", expected, value)


MetricRef = Annotated[
    Annotated[MetricName, Tag("<name>")]
    | Annotated[Aggregate, Tag("<aggregate>")]
    | Annotated[Ratio, Tag("<ratio>")]
    | Annotated[Nps, Tag("<nps>")]
    | Annotated[ChurnRate, Tag("<churn_rate>")]
    | Annotated[Per, Tag("<per>")]
    | Annotated[Duration, Tag("<duration>")]
    | SkipJsonSchema[Annotated[Any, PlainValidator(_invalid_metric), Tag("<invalid>")]],
    Discriminator(_metric_kind),
]
"""A metric: a catalog name or an expression."""

Expr = Aggregate | Ratio | Nps | ChurnRate | Per | Duration
"""A metric expression with no names left in it (after resolution) or with some."""

RatioParts.model_rebuild()
Ratio.model_rebuild()
Per.model_rebuild()

TAGGED_TYPES: dict[str, Any] = {
    "<aggregate>": Aggregate,
    "<ratio>": Ratio,
    "<nps>": Nps,
    "<churn_rate>": ChurnRate,
    "<per>": Per,
    "<duration>": Duration,
    "<first>": FirstRelated,
    "<fields>": Window,
    "<operators>": Operators,
    "<all>": Conditions,
    "<any>": tuple[Conditions, ...],
}
"""Union tags that appear in validation error locations, and the type behind each."""


def natural_unit(expr: Expr) -> Unit:
    """The unit an expression yields when no definition says otherwise."""
    if isinstance(expr, (Ratio, ChurnRate)):
        return Unit.PERCENT
    if isinstance(expr, Nps):
        return Unit.NPS
    if isinstance(expr, Duration):
        return Unit(expr.in_)
    if isinstance(expr, Per):
        return Unit.NUMBER
    if expr.function in {"count", "count_distinct"}:
        return Unit.COUNT
    return Unit.NUMBER


ACCUMULATING_WINDOWS = frozenset({"cycle", "cycle_to_date"})
"""Windows over which a count or a sum only grows as the cycle goes on."""


def accumulates(expr: Expr) -> bool:
    """Whether a metric accumulates, as inferred from its expression.

    A metric accumulates when it counts or sums what happened since the cycle
    began, so it starts the cycle at 0 and can only grow: ``count``, ``sum`` and
    ``count_distinct`` whose window is ``cycle`` or ``cycle_to_date``, and
    ``churn_rate``. Every other metric is a level (ratios, NPS, averages,
    minimums and maximums, aggregates without such a window). A named metric or
    a key result may say otherwise with ``accumulates:``.
    """
    if isinstance(expr, ChurnRate):
        return True
    if isinstance(expr, Aggregate) and expr.function in {"count", "sum", "count_distinct"}:
        window = expr.window_field()
        return window is not None and window[1] in ACCUMULATING_WINDOWS
    return False


def window_bounds(
    window: str, cycle_start: date, cycle_end: date, as_of: date
) -> tuple[date | None, date | None]:
    """Inclusive ``(first, last)`` day of a window; ``None`` means unbounded.

    ``cycle`` is the whole cycle, ``cycle_to_date`` the cycle up to the as-of
    date (an as-of date before the cycle gives an empty range: first > last),
    ``last_N_days`` the N days up to and including the as-of date, ``all_time``
    everything.
    """
    match = _WINDOW.match(window)
    if match is None:
        msg = f"unknown window {window!r}"
        raise ValueError(msg)
    if window == "cycle":
        return cycle_start, cycle_end
    if window == "cycle_to_date":
        return cycle_start, min(cycle_end, as_of)
    if window == "all_time":
        return None, None
    days = int(match.group(2))
    return as_of - timedelta(days=days - 1), as_of


def leaf_terms(expr: Expr) -> Iterator[Aggregate | Nps | ChurnRate | Duration]:
    """The terms an expression reads from the data: a ratio's or quotient's parts, in order."""
    if isinstance(expr, Ratio):
        yield from leaf_terms(expr.ratio.numerator)  # type: ignore[arg-type]
        yield from leaf_terms(expr.ratio.denominator)  # type: ignore[arg-type]
    elif isinstance(expr, Per):
        yield from leaf_terms(expr.per.numerator)  # type: ignore[arg-type]
        yield from leaf_terms(expr.per.denominator)  # type: ignore[arg-type]
    else:
        yield expr
