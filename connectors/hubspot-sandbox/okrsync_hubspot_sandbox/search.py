"""The search endpoint: filter groups, sorts, free-text query, offset paging, the 10 000 cap.

Filters compare by property type (numbers numerically; dates and datetimes
given as epoch milliseconds or ISO strings), string equality ignores letter
case as HubSpot's does, only live (non-archived) objects are searched, and
paging past the 10 000th result fails the way HubSpot's does, so a client
that does not window its incremental pulls finds out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.errors import validation_error
from okrsync_hubspot_sandbox.values import PropertyType, parse_moment
from okrsync_sandbox.store import And, Cmp, Not, Or, OrderBy

if TYPE_CHECKING:
    from okrsync_hubspot_sandbox.records import Records
    from okrsync_hubspot_sandbox.schema import ObjectType, PropertyDef
    from okrsync_sandbox.store import Cond

__all__ = [
    "MAX_FILTERS",
    "MAX_GROUPS",
    "MAX_LIMIT",
    "SEARCH_CAP",
    "SearchRequest",
    "compile_filters",
    "compile_sorts",
    "search",
]

SEARCH_CAP = 10_000
"""No result beyond the 10 000th of a query can be read."""
MAX_GROUPS = 5
MAX_FILTERS = 6
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
_TEXT = {PropertyType.STRING, PropertyType.ENUMERATION}
_OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A parsed search request body."""

    filter_groups: list[Any]
    sorts: list[Any]
    properties: list[str] | None
    query: str
    limit: int
    after: int

    @classmethod
    def parse(cls, body: Any) -> SearchRequest:
        """Read and check a request body.

        Raises:
            HubSpotError: 400 for a malformed body, a limit above 200 or paging past the cap.
        """
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object.")
        groups = body.get("filterGroups") or []
        sorts = body.get("sorts") or []
        properties = body.get("properties")
        if not isinstance(groups, list) or not isinstance(sorts, list):
            raise validation_error("filterGroups and sorts must be lists.")
        if properties is not None and not isinstance(properties, list):
            raise validation_error("properties must be a list of property names.")
        limit = _integer(body.get("limit"), "limit", DEFAULT_LIMIT)
        if not 0 < limit <= MAX_LIMIT:
            raise validation_error(
                f"limit must be between 1 and {MAX_LIMIT}, got {limit}.",
                errors=[{"message": f"limit must be at most {MAX_LIMIT}", "code": "INVALID_LIMIT"}],
            )
        after = _integer(body.get("after"), "after", 0)
        if after >= SEARCH_CAP:
            raise validation_error(
                "There was a problem with the request.",
                errors=[
                    {
                        "message": f"The search endpoints are limited to {SEARCH_CAP} total "
                        f"results for any given query; after={after} is beyond that.",
                        "code": "INVALID_PAGING",
                    }
                ],
            )
        if after < 0:
            raise validation_error(f"after must not be negative, got {after}.")
        return cls(
            groups,
            sorts,
            [str(p) for p in properties] if properties else None,
            str(body.get("query") or ""),
            limit,
            after,
        )


def _integer(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError:
        raise validation_error(f"{name} must be an integer, got {value!r}.") from None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _boolean(text: str) -> bool:
    low = text.strip().lower()
    if low not in {"true", "false"}:
        raise ValueError(text)
    return low == "true"


def _typed(prop: PropertyDef, value: Any) -> Any:
    """A filter value converted to the property's type."""
    try:
        if prop.type is PropertyType.NUMBER:
            return float(value)
        if prop.type is PropertyType.BOOL:
            return _boolean(str(value))
        if prop.type is PropertyType.DATE:
            return parse_moment(value).date()
        if prop.type is PropertyType.DATETIME:
            return parse_moment(value)
    except (TypeError, ValueError, OverflowError, OSError):
        raise validation_error(
            f"{value!r} is not a valid value to compare with {prop.type.value} property "
            f"{prop.name}."
        ) from None
    return str(value)


def _filter(kind: ObjectType, raw: Any) -> Cond:  # noqa: C901, PLR0912  (one branch per operator)
    if not isinstance(raw, dict):
        raise validation_error("Each filter must be an object.")
    name = str(raw.get("propertyName") or "")
    operator = str(raw.get("operator") or "EQ").upper()
    prop = kind.property(name)
    if prop is None:
        raise validation_error(f"Unable to filter on property {name}: it does not exist.")
    if operator not in _OPERATORS:
        raise validation_error(f"Invalid operator {operator} in filter on {name}.")
    text = prop.type in _TEXT
    if operator == "HAS_PROPERTY":
        return Cmp(name, "!=", None)
    if operator == "NOT_HAS_PROPERTY":
        return Cmp(name, "=", None)
    if operator in {"IN", "NOT_IN"}:
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"Operator {operator} on {name} needs a non-empty values list.")
        if text:
            matches = Or(tuple(Cmp(name, "like", _like(str(v))) for v in values))
            return matches if operator == "IN" else Or((Cmp(name, "=", None), Not(matches)))
        typed = tuple(_typed(prop, v) for v in values)
        return Cmp(name, "in" if operator == "IN" else "not in", typed)
    if "value" not in raw or raw["value"] is None:
        raise validation_error(f"Operator {operator} on {name} needs a value.")
    value = raw["value"]
    if operator in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
        if not text:
            raise validation_error(f"Operator {operator} needs a string property, not {name}.")
        pattern = _like(str(value)).replace("*", "%")
        contains = Cmp(name, "like", pattern if "%" in pattern else f"%{pattern}%")
        return (
            contains if operator == "CONTAINS_TOKEN" else Or((Cmp(name, "=", None), Not(contains)))
        )
    if operator == "BETWEEN":
        high = raw.get("highValue")
        if high is None:
            raise validation_error(f"Operator BETWEEN on {name} needs a highValue.")
        return And((Cmp(name, ">=", _typed(prop, value)), Cmp(name, "<=", _typed(prop, high))))
    if text and operator in {"EQ", "NEQ"}:
        same = Cmp(name, "like", _like(str(value)))
        return same if operator == "EQ" else Or((Cmp(name, "=", None), Not(same)))
    ops = {"EQ": "=", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
    return Cmp(name, ops[operator], _typed(prop, value))  # type: ignore[arg-type]


def compile_filters(kind: ObjectType, groups: list[Any]) -> Cond | None:
    """The condition of ``filterGroups``: groups ORed, the filters of a group ANDed.

    Raises:
        HubSpotError: 400 for more than 5 groups, more than 6 filters in one, or a bad filter.
    """
    if not groups:
        return None
    if len(groups) > MAX_GROUPS:
        raise validation_error(
            "There was a problem with the request.",
            errors=[{"message": f"Too many filter groups: at most {MAX_GROUPS} are allowed."}],
        )
    alternatives: list[Cond] = []
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation_error("Each filter group needs a filters list.")
        if len(filters) > MAX_FILTERS:
            raise validation_error(
                "There was a problem with the request.",
                errors=[{"message": f"Too many filters in a group: at most {MAX_FILTERS}."}],
            )
        alternatives.append(And(tuple(_filter(kind, f) for f in filters)))
    return alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives))


def _sort(kind: ObjectType, raw: Any) -> OrderBy:
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError:
                raise validation_error(f"Invalid sort {raw!r}.") from None
        else:
            descending = text.startswith("-")
            raw = {
                "propertyName": text.lstrip("-"),
                "direction": "DESCENDING" if descending else "ASCENDING",
            }
    if not isinstance(raw, dict):
        raise validation_error(f"Invalid sort {raw!r}.")
    name = str(raw.get("propertyName") or "")
    if kind.property(name) is None:
        raise validation_error(f"Unable to sort on property {name}: it does not exist.")
    direction = str(raw.get("direction") or "ASCENDING").upper()
    if direction not in {"ASCENDING", "DESCENDING"}:
        raise validation_error(f"Invalid sort direction {direction}.")
    return OrderBy(name, ascending=direction == "ASCENDING")


def compile_sorts(kind: ObjectType, sorts: list[Any]) -> list[OrderBy]:
    """Sort keys from ``sorts`` (objects, ``name``/``-name`` strings or JSON strings).

    The object id is always the last key, so offset paging is stable.

    Raises:
        HubSpotError: 400 for an unknown property or direction.
    """
    keys = [_sort(kind, s) for s in sorts]
    if not any(k.field == "hs_object_id" for k in keys):
        keys.append(OrderBy("hs_object_id"))
    return keys


def _query(kind: ObjectType, text: str) -> Cond | None:
    words = text.split()
    fields = [p for p in kind.searchable if kind.property(p) is not None]
    if not words or not fields:
        return None
    return And(tuple(Or(tuple(Cmp(f, "like", f"%{_like(w)}%") for f in fields)) for w in words))


def search(records: Records, kind: ObjectType, body: Any) -> dict[str, Any]:
    """Answer one search request: ``total``, ``results`` and ``paging.next.after`` (an offset).

    Raises:
        HubSpotError: 400 for an invalid request or paging at or past the 10 000 cap.
    """
    request = SearchRequest.parse(body)
    parts = [
        c
        for c in (compile_filters(kind, request.filter_groups), _query(kind, request.query))
        if c is not None
    ]
    hidden = records.hidden_from_search(kind)
    if hidden:
        parts.append(Not(Cmp("hs_object_id", "in", hidden)))
    where: Cond | None = None
    if parts:
        where = parts[0] if len(parts) == 1 else And(tuple(parts))
    order = compile_sorts(kind, request.sorts)
    props = records.wanted(kind, request.properties)
    total = records.store.count(kind.table, where)
    size = min(request.limit, SEARCH_CAP - request.after)
    rows = list(
        records.store.select(
            kind.table,
            records.fields(kind, props),
            where,
            order_by=order,
            limit=size,
            offset=request.after,
        )
    )
    body_out: dict[str, Any] = {
        "total": total,
        "results": [records.render(kind, r, props) for r in rows],
    }
    following = request.after + len(rows)
    if rows and following < total:
        body_out["paging"] = {"next": {"after": str(following), "link": f"?after={following}"}}
    return body_out
