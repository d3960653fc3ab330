"""Check JSON bodies against HubSpot's published OpenAPI specifications, as hubspot-api-client has them.

hubspot-api-client is generated from HubSpot's specifications: each model
class carries the schema's properties (``attribute_map``: Python name → JSON
name, ``openapi_types``: their types), and its setters, with client-side
validation on, refuse ``None`` for a required property and a value outside an
enumeration. :func:`problems` walks a JSON body against a model class and
lists every difference: unknown properties, missing required ones, wrong
types, values outside an enumeration, recursively.

Where HubSpot's live API is known to differ from its specification, the
caller passes an :class:`Allowance` naming the place and the reason.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["Allowance", "model", "problems"]

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict[\[(]str, (.+)[\])]$")


@dataclass(frozen=True, slots=True)
class Allowance:
    """A known difference between the specification and the live API, followed on purpose."""

    path: str
    """Where, as :func:`problems` names it (``$.sorts[0]``); ``*`` matches one index or key."""
    reason: str

    def covers(self, where: str) -> bool:
        """Whether the problem at ``where`` is this allowance's."""
        pattern = re.escape(self.path).replace(r"\*", r"[^.\[\]]+")
        return re.fullmatch(pattern + r"(\..*|\[.*)?", where) is not None


def model(module: str, name: str) -> type:
    """The model class ``name`` of a hubspot-api-client API (``crm.objects``)."""
    found: type = getattr(importlib.import_module(f"hubspot.{module}.models"), name)
    return found


def problems(
    data: Any, klass: type, allowances: tuple[Allowance, ...] = (), where: str = "$"
) -> list[str]:
    """Every way ``data`` differs from the schema ``klass`` was generated from."""
    found = _object(data, klass, where)
    return [p for p in found if not any(a.covers(p.split(":", 1)[0]) for a in allowances)]


def _object(data: Any, klass: type, where: str) -> list[str]:
    if not isinstance(data, dict):
        return [f"{where}: expected an object ({klass.__name__}), got {type(data).__name__}"]
    attribute_map: dict[str, str] = klass.attribute_map  # type: ignore[attr-defined]
    types: dict[str, str] = klass.openapi_types  # type: ignore[attr-defined]
    by_json = {json_name: attr for attr, json_name in attribute_map.items()}
    out = [f"{where}.{key}: not in {klass.__name__}" for key in data if key not in by_json]
    probe = _probe(klass)
    for attr, json_name in attribute_map.items():
        here = f"{where}.{json_name}"
        value = data.get(json_name)
        if value is None:
            if _refuses(probe, attr, None):
                out.append(f"{here}: required by {klass.__name__}, missing or null")
            continue
        if isinstance(value, str) and _refuses(probe, attr, value):
            out.append(f"{here}: {value!r} is not one of the values {klass.__name__} allows")
        out.extend(_value(value, types[attr], here, klass))
    return out


def _value(value: Any, kind: str, where: str, owner: type) -> list[str]:
    listed = _LIST.match(kind)
    if listed:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        return [
            p
            for i, item in enumerate(value)
            for p in _value(item, listed[1], f"{where}[{i}]", owner)
        ]
    mapped = _DICT.match(kind)
    if mapped:
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        return [p for k, v in value.items() for p in _item(v, mapped[1], f"{where}.{k}", owner)]
    return _item(value, kind, where, owner)


def _item(value: Any, kind: str, where: str, owner: type) -> list[str]:
    if value is None:
        return [f"{where}: null where {kind} is expected"]
    checks: dict[str, tuple[type, ...]] = {
        "str": (str,),
        "int": (int,),
        "float": (int, float),
        "bool": (bool,),
        "object": (object,),
    }
    if kind in checks:
        wrong = not isinstance(value, checks[kind]) or (
            kind in {"int", "float"} and isinstance(value, bool)
        )
        return [f"{where}: expected {kind}, got {type(value).__name__}"] if wrong else []
    if kind in {"datetime", "date"}:
        parse = datetime.fromisoformat if kind == "datetime" else date.fromisoformat
        try:
            parse(str(value).replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: expected an ISO {kind}, got {value!r}"]
        return []
    package = owner.__module__.rsplit(".", 1)[0]
    nested: type = getattr(importlib.import_module(package), kind)
    return _object(value, nested, where)


def _probe(klass: type) -> Any:
    """An instance with client-side validation on, for trying the setters."""
    configuration = importlib.import_module(
        klass.__module__.rsplit(".", 2)[0] + ".configuration"
    ).Configuration()
    configuration.client_side_validation = True
    probe = klass.__new__(klass)
    probe.local_vars_configuration = configuration
    return probe


def _refuses(probe: Any, attr: str, value: Any) -> bool:
    try:
        setattr(probe, attr, value)
    except ValueError:
        return True
    return False
