"""Turn pydantic validation errors into located, readable problems."""

from __future__ import annotations

import difflib
import types
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from okrsync.mapping.schema import TAGGED_TYPES as SCHEMA_TAGS
from okrsync.metric import TAGGED_TYPES as METRIC_TAGS
from okrsync.metric import describe_value

if TYPE_CHECKING:
    from okrsync._yaml import LocatedDocument, YamlPath
    from okrsync.errors import Problem

__all__ = ["allowed_keys", "explain", "validate_located"]

_TAGS: dict[str, Any] = {**METRIC_TAGS, **SCHEMA_TAGS}

_EXPECTED = {
    "string_type": "a text",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date like 2026-07-01",
    "date_parsing": "a date like 2026-07-01",
    "date_from_datetime_parsing": "a date like 2026-07-01",
    "date_from_datetime_inexact": "a date like 2026-07-01",
    "enum": "one of {expected}",
    "literal_error": "{expected}",
}


def _strip(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            arms = [a for a in get_args(tp) if a is not type(None)]
            if len(arms) == 1:
                tp = arms[0]
                continue
        return tp


def _type_at(root: Any, loc: tuple[str | int, ...]) -> Any:
    tp = root
    for part in loc:
        tp = _strip(tp)
        if isinstance(part, str) and part.startswith("<"):
            tp = _TAGS.get(part)
            if tp is None:
                return None
            continue
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next(
                (f for n, f in tp.model_fields.items() if (f.alias or n) == part),
                None,
            )
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) in (list, tuple):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            return None
    return _strip(tp)


def allowed_keys(root: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts (empty when it is not a model)."""
    tp = _type_at(root, loc)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _clean(loc: tuple[str | int, ...]) -> tuple[YamlPath, bool]:
    """Drop union tags from a location; say whether it points at a mapping key."""
    path: list[str | int] = []
    key = False
    for part in loc:
        if isinstance(part, str) and part.startswith("<"):
            continue
        if part == "[key]":
            key = True
            continue
        path.append(part)
    return tuple(path), key


def explain(root: Any, error: Any, doc: LocatedDocument, prefix: YamlPath = ()) -> Problem:
    """One pydantic error as a located problem with an admin-readable message.

    ``root`` is the type that was validated, ``prefix`` where its data sits in ``doc``.
    """
    loc: tuple[str | int, ...] = tuple(error["loc"])
    rel, key = _clean(loc)
    path = (*prefix, *rel)
    kind: str = error["type"]
    value = error.get("input")
    ctx: dict[str, Any] = error.get("ctx") or {}
    if kind == "missing":
        name = path[-1] if path else "?"
        return doc.problem(path[:-1], f"missing required key `{name}`")
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else "?"
        allowed = allowed_keys(root, loc[:-1])
        text = f"unknown key `{name}`"
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        if close:
            text += f" (did you mean `{close[0]}`?)"
        if allowed:
            text += "; expected one of " + ", ".join(f"`{k}`" for k in allowed)
        return doc.problem(path, text, key=True)
    if kind in _EXPECTED:
        expected = _EXPECTED[kind].format(expected=ctx.get("expected", "?"))
        return doc.problem(path, f"expected {expected}, got {describe_value(value)}", key=key)
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        return doc.problem(path, f"expected at least {need} item(s), got none")
    message: str = error["msg"]
    if kind == "value_error":
        message = str(ctx.get("error", message))
    if not message.startswith("expected"):
        message = f"{message[:1].lower()}{message[1:]}, got {describe_value(value)}"
    return doc.problem(path, message, key=key)


def validate_located(
    root: Any, doc: LocatedDocument, prefix: YamlPath = ()
) -> tuple[Any, list[Problem]]:
    """Validate ``doc``'s data at ``prefix`` against ``root``; problems are located."""
    try:
        return TypeAdapter(root).validate_python(doc.get(prefix)), []
    except ValidationError as exc:
        return None, [explain(root, error, doc, prefix) for error in exc.errors()]
