"""The mapping file format: what admins write in ``mappings/*.yaml``.

These models check the shape of one file; the loader then checks what spans
files (cycles, unique keys, alignment, sources, metric names, start/target).
Their JSON Schema is what editors use for autocompletion (``okrsync schema``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, NoReturn

from pydantic import (
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

from okrsync.metric import MetricName, MetricRef, Number, Unit, describe_value, matching

__all__ = [
    "SCHEMA_ID",
    "CatalogFile",
    "CycleSpec",
    "ForEachSpec",
    "KeyResultSpec",
    "MappingFile",
    "NamedMetricSpec",
    "ObjectiveSpec",
    "OwnerSpec",
    "TeamSpec",
    "json_schema",
]

SCHEMA_ID = "https://okrsync.dev/schema/okrsync-mapping.schema.json"

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
_CYCLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_SOURCE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _text(max_length: int) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise PydanticCustomError(
                "text", f"expected a non-empty text, got {describe_value(value)}"
            )
        if len(value) > max_length:
            raise PydanticCustomError(
                "text", f"expected at most {max_length} characters, got {len(value)}"
            )
        return value

    return PlainValidator(check)


Key = Annotated[
    str,
    matching(
        _KEY, "key", "a key of lowercase letters, digits, `-` and `_` (at most 80)", numbers=True
    ),
    WithJsonSchema({"type": "string", "pattern": _KEY.pattern}),
]
CycleName = Annotated[
    str,
    matching(
        _CYCLE, "cycle_name", "a cycle name like `2026-Q3` (letters, digits, `.-_`)", numbers=True
    ),
    WithJsonSchema({"type": "string", "pattern": _CYCLE.pattern}),
]
SourceName = Annotated[
    str,
    matching(_SOURCE, "source", "a connector name like `salesforce` or `hubspot`"),
    WithJsonSchema({"type": "string", "pattern": _SOURCE.pattern, "examples": ["salesforce"]}),
]
Email = Annotated[
    str,
    matching(_EMAIL, "email", "an e-mail address like `jane@acme.example`"),
    WithJsonSchema({"type": "string", "format": "email"}),
]
Title = Annotated[str, _text(255), WithJsonSchema({"type": "string", "maxLength": 255})]
Description = Annotated[str, _text(4000), WithJsonSchema({"type": "string", "maxLength": 4000})]


def _date(value: Any) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError(
        "date", f"expected a date like 2026-07-01, got {describe_value(value)}"
    )


Day = Annotated[date, PlainValidator(_date), WithJsonSchema({"type": "string", "format": "date"})]


def _positive(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1000:  # noqa: PLR2004
        raise PydanticCustomError(
            "weight",
            f"expected a weight greater than 0 and at most 1000, got {describe_value(value)}",
        )
    return float(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise PydanticCustomError("flag", f"expected `true` or `false`, got {describe_value(value)}")


Flag = Annotated[bool, PlainValidator(_flag), WithJsonSchema({"type": "boolean"})]

ACCUMULATES_HELP = (
    "Whether the metric accumulates (counts or sums what happened since the cycle "
    "began: 0 at the start, it only grows) rather than being a level (a ratio, an "
    "average, a snapshot). Inferred from the metric when left out."
)

Weight = Annotated[
    float,
    PlainValidator(_positive),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1000}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CycleSpec(_Strict):
    """A named date range, usually a quarter."""

    name: CycleName
    start: Day
    end: Day


class OwnerSpec(_Strict):
    """Who owns an objective or key result: a team or a user (by e-mail)."""

    team: Title | None = None
    user: Email | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> OwnerSpec:
        if (self.team is None) == (self.user is None):
            got = "both" if self.team is not None else "neither"
            raise PydanticCustomError(
                "owner", f"expected exactly one of `team` or `user`, got {got}"
            )
        return self


BREAKDOWN_HELP = (
    "`owner`: the metric is also computed per record owner, with its own semantics "
    "(a ratio per owner is their numerator over their denominator), records without an "
    "owner in an `unassigned` row; written to the CRM as one contribution per owner."
)
ROLLUP_HELP = (
    "How the team key result rolls up from its members' key results: `sum` (the sum of "
    "their values, scored against the team target) or `mean` (the mean of their scores). "
    "Default: `sum` for counts and sums, `mean` for every other metric."
)


class ForEachSpec(_Strict):
    """A key-result template: one personal key result per member of a team."""

    team: Title = Field(description="A team of the `teams:` roster.")
    rollup: Literal["sum", "mean"] | None = Field(None, description=ROLLUP_HELP)
    team_target: Number | None = Field(
        None,
        description="The team key result's target; by default the sum of the members' "
        "targets (`rollup: sum`) or the personal target (`rollup: mean`).",
    )


class TeamSpec(_Strict):
    """A team: its members by e-mail, and whether the CRM lists more of them."""

    members: list[Email] = Field(default_factory=list, description="Members' e-mail addresses.")
    from_crm: Flag | Title = Field(
        False,  # noqa: FBT003  (a field default, not a flag argument)
        description="Also the members the CRM lists under this name (`true`) or another "
        "name: the Salesforce role or public group, the HubSpot team.",
    )


class KeyResultSpec(_Strict):
    """A measurable result: a metric moving from ``start`` to ``target``, or a milestone."""

    key: Key
    title: Title
    description: Description | None = None
    kind: Literal["metric", "milestone"] = "metric"
    source: SourceName = Field(description="The connector the metric is computed from.")
    metric: MetricRef
    start: Number | None = Field(None, description="Defaults to 0.")
    target: Number | None = Field(None, description="Required for metrics; 1 for milestones.")
    weight: Weight = 1.0
    unit: Unit | None = Field(None, description="Overrides the metric's unit for display.")
    owner: OwnerSpec | None = None
    publish_to: list[SourceName] = Field(
        default_factory=list,
        description="Connectors to write this key result to besides its source.",
    )
    accumulates: Flag | None = Field(None, description=ACCUMULATES_HELP)
    breakdown: Literal["owner"] | None = Field(None, description=BREAKDOWN_HELP)
    for_each: ForEachSpec | None = Field(
        None,
        description="Make this a template: each member of the team gets a personal key "
        "result (key `<key>/<e-mail>`, owned by them, with `target` or their own from "
        "`targets`) and this one rolls up from theirs.",
    )
    targets: dict[Email, Number] = Field(
        default_factory=dict,
        description="Personal targets by e-mail, overriding `target` for those people "
        "(with `for_each` or `breakdown`).",
    )


class ObjectiveSpec(_Strict):
    """A qualitative goal for one cycle, measured by its key results."""

    key: Key
    title: Title
    description: Description | None = None
    owner: OwnerSpec | None = None
    aligns_to: str | None = Field(
        None,
        description="Key of the parent objective (same cycle) or `<cycle>/<objective>`.",
    )
    key_results: list[KeyResultSpec] = Field(min_length=1)


class NamedMetricSpec(_Strict):
    """A named metric: in a connector's catalog, or defined/overridden by the admin."""

    description: Description | None = None
    unit: Unit | None = None
    accumulates: Flag | None = Field(None, description=ACCUMULATES_HELP)
    metric: MetricRef


def _cycle_kind(value: Any) -> str:
    if isinstance(value, (dict, CycleSpec)):
        return "<definition>"
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return "<reference>"
    return "<invalid>"


def _invalid_cycle(value: Any) -> NoReturn:
    raise PydanticCustomError(
        "cycle",
        "expected a cycle `{name, start, end}` or the name of a cycle defined in another "
        f"mapping file, got {describe_value(value)}",
    )


CycleField = Annotated[
    Annotated[CycleSpec, Tag("<definition>")]
    | Annotated[CycleName, Tag("<reference>")]
    | SkipJsonSchema[Annotated[Any, PlainValidator(_invalid_cycle), Tag("<invalid>")]],
    Discriminator(_cycle_kind),
]


class MappingFile(_Strict):
    """One file in the mappings folder."""

    model_config = ConfigDict(
        title="okrsync mapping file",
        json_schema_extra={"$id": SCHEMA_ID},
    )

    version: Literal[1] = Field(description="Format version of this file.")
    cycle: CycleField | None = None
    objectives: list[ObjectiveSpec] = Field(default_factory=list)
    metrics: dict[SourceName, dict[MetricName, NamedMetricSpec]] = Field(
        default_factory=dict,
        description="Named metrics per connector (or connector type): extend or "
        "override the built-in catalog.",
    )
    teams: dict[Title, TeamSpec] = Field(
        default_factory=dict,
        description="Teams by name, for personal key results (`for_each: {team: …}`); "
        "defined once, in any file.",
    )


class CatalogFile(_Strict):
    """A connector's built-in metric catalog."""

    version: Literal[1]
    connector: SourceName
    metrics: dict[MetricName, NamedMetricSpec]


TAGGED_TYPES: dict[str, Any] = {"<definition>": CycleSpec}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of mapping files (draft 2020-12)."""
    schema = MappingFile.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
