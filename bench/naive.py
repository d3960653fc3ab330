"""The naive baseline: what a per-KR script does each cycle.

For every key result: one query per metric term (a SOQL aggregate such as
``SELECT SUM(Amount) total FROM Opportunity WHERE CloseDate >= … AND CloseDate <= …``,
or a HubSpot search with ``limit: 1`` read for its ``total``), then one write of
that key result (a single-record PATCH by external id). No replica, no diff, no
batching. The queries filter on the KR's window only (not on its ``where``):
the call count and round trips are what matter here, not the value.
HubSpot searches are paced at the same rate as okrsync's (``search_rps``).
"""

# A benchmark helper, not a package module.
# ruff: noqa: INP001

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import requests

from okrsync.metric import Aggregate, ChurnRate, Nps, Ratio, window_bounds

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import date

    from okrsync.model import KeyResult

__all__ = ["run_naive"]

_DATETIME_FIELDS = {"CreatedDate", "LastModifiedDate", "SystemModstamp"}


def _terms(expr: Any) -> Iterator[Any]:
    if isinstance(expr, Ratio):
        yield from _terms(expr.ratio.numerator)
        yield from _terms(expr.ratio.denominator)
    else:
        yield expr


def _shape(term: Any) -> tuple[str, str, str | None, str | None]:
    """(object, function, field, window date field)."""
    if isinstance(term, Aggregate):
        found = term.window_field()
        return term.object_name, term.function, term.field, found[0] if found else None
    if isinstance(term, Nps):
        obj, field = term.nps.split(".", 1)
        found = term.window_field()
        return obj, "avg", field, found[0] if found else None
    if isinstance(term, ChurnRate):
        return term.churn_rate, "count", None, None
    raise TypeError(type(term))


def _window(term: Any, kr: KeyResult, as_of: date) -> tuple[date | None, date | None]:
    found = term.window_field() if not isinstance(term, ChurnRate) else None
    if found is None:
        return None, None
    return window_bounds(found[1], kr.cycle.start, kr.cycle.end, as_of)


def _soql(term: Any, kr: KeyResult, as_of: date) -> str:
    obj, func, field, date_field = _shape(term)
    select = "COUNT()" if func == "count" or field is None else f"{func.upper()}({field}) v"
    where = []
    first, last = _window(term, kr, as_of)
    if date_field and first and last:
        if date_field in _DATETIME_FIELDS:
            where = [
                f"{date_field} >= {first.isoformat()}T00:00:00Z",
                f"{date_field} <= {last.isoformat()}T23:59:59Z",
            ]
        else:
            where = [f"{date_field} >= {first.isoformat()}", f"{date_field} <= {last.isoformat()}"]
    text = f"SELECT {select} FROM {obj}"  # noqa: S608  (a benchmark, against the sandbox)
    return text + (" WHERE " + " AND ".join(where) if where else "")


def _search(term: Any, kr: KeyResult, as_of: date) -> tuple[str, dict[str, Any]]:
    from okrsync_hubspot._values import midnight_millis  # noqa: PLC0415

    obj, _func, _field, date_field = _shape(term)
    first, last = _window(term, kr, as_of)
    filters = []
    if date_field and first and last:
        filters = [
            {"propertyName": date_field, "operator": "GTE", "value": midnight_millis(first)},
            {"propertyName": date_field, "operator": "LT", "value": midnight_millis(last, 1)},
        ]
    body: dict[str, Any] = {"limit": 1, "properties": ["hs_object_id"]}
    if filters:
        body["filterGroups"] = [{"filters": filters}]
    return obj, body


def run_naive(
    krs: list[KeyResult],
    as_of: date,
    info: dict[str, Any],
    names: dict[str, dict[str, str]],
    search_rps: float,
) -> dict[str, Any]:
    """Run one naive cycle; return calls made, errors and wall time."""
    sf, hs = info["salesforce"], info["hubspot"]
    sf_api = f"{sf['instance_url']}/services/data/v{sf['api_version']}"
    sf_session = requests.Session()
    sf_session.trust_env = False  # REQUESTS_CA_BUNDLE would override the sandbox CA
    sf_session.verify = sf["ca_cert"]
    sf_session.headers["Authorization"] = f"Bearer {sf['session_id']}"
    hs_session = requests.Session()
    hs_session.trust_env = False
    hs_session.headers["Authorization"] = f"Bearer {hs['access_token']}"
    gap = 1.0 / search_rps
    last_search = 0.0
    calls = {"salesforce": 0, "hubspot": 0}
    errors: dict[str, int] = {}
    began = time.perf_counter()
    for kr in krs:
        value = 0.0
        for term in _terms(kr.metric.expr):
            if kr.source == "salesforce":
                reply = sf_session.get(f"{sf_api}/query/", params={"q": _soql(term, kr, as_of)})
            else:
                obj, body = _search(term, kr, as_of)
                wait = last_search + gap - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                last_search = time.perf_counter()
                reply = hs_session.post(f"{hs['host']}/crm/v3/objects/{obj}/search", json=body)
            calls[kr.source] += 1
            if reply.ok:
                data = reply.json()
                value += float(data.get("totalSize", data.get("total", 0)) or 0)
            else:
                errors[f"{kr.source} query {reply.status_code}"] = (
                    errors.get(f"{kr.source} query {reply.status_code}", 0) + 1
                )
        n = names[kr.source]
        key = requests.utils.quote(kr.full_key, safe="")
        if kr.source == "salesforce":
            reply = sf_session.patch(
                f"{sf_api}/sobjects/{n['object']}/{n['key']}/{key}",
                json={n["value"]: value},
            )
        else:
            reply = hs_session.patch(
                f"{hs['host']}/crm/v3/objects/{n['object']}/{key}",
                params={"idProperty": n["key"]},
                json={"properties": {n["value"]: str(value)}},
            )
        calls[kr.source] += 1
        if not reply.ok:
            failed = f"{kr.source} write {reply.status_code}"
            errors[failed] = errors.get(failed, 0) + 1
    return {"calls": calls, "errors": errors, "wall": time.perf_counter() - began}
