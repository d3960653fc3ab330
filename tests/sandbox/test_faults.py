"""Fault specs, seeded fault draws, accounting and the admin API."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from typing import Any

import pytest

from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.faults import FaultInjector, FaultKind, FaultSpec
from okrsync_sandbox.server import AdminApp, serve


def test_spec_parses_text_and_round_trips() -> None:
    """The --faults text and the admin JSON describe the same spec."""
    spec = FaultSpec.parse(
        "latency=50ms, 5xx=0.2,429=0.1,expired=0.05,partial=0.1,drop=0.02,seed=7"
    )
    assert spec.latency_ms == 50
    assert spec.rates == {
        FaultKind.ERROR_5XX: 0.2,
        FaultKind.THROTTLE: 0.1,
        FaultKind.EXPIRED: 0.05,
        FaultKind.PARTIAL: 0.1,
        FaultKind.DROP: 0.02,
    }
    assert spec.seed == 7
    assert FaultSpec.from_dict(spec.to_dict()) == spec
    assert FaultSpec.parse("latency=0.25s").latency_ms == 250
    assert FaultSpec.parse("") == FaultSpec()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("boom=0.1", "unknown fault 'boom'"),
        ("5xx", "expected key=value"),
        ("5xx=1.5", "between 0 and 1"),
        ("5xx=0.6,429=0.6", "add up to more than 1"),
        ("latency=-5", "0 or more"),
    ],
)
def test_bad_specs_are_rejected(text: str, message: str) -> None:
    """A malformed spec fails with a message naming what is wrong."""
    with pytest.raises(ValueError, match=message):
        FaultSpec.parse(text)


def draws(injector: FaultInjector, n: int, *, batch: bool = False) -> list[Any]:
    out = []
    for _ in range(n):
        fault = injector.draw(batch=batch)
        out.append(None if fault is None else (fault.kind, sorted(fault.failing(10))))
    return out


def test_draws_are_reproducible_per_seed_and_stream() -> None:
    """The same seed and CRM give the same faults in the same order; others differ."""
    spec = FaultSpec.parse("5xx=0.2,429=0.1,partial=0.3,seed=3")
    first = draws(FaultInjector(spec, "hubspot"), 300, batch=True)
    again = draws(FaultInjector(spec, "hubspot"), 300, batch=True)
    assert first == again
    assert first != draws(FaultInjector(spec, "salesforce"), 300, batch=True)
    other_seed = FaultSpec.parse("5xx=0.2,429=0.1,partial=0.3,seed=4")
    assert first != draws(FaultInjector(other_seed, "hubspot"), 300, batch=True)


def test_rates_are_respected_and_partial_only_for_batches() -> None:
    """Over many draws each kind appears near its rate; partial faults need a batch."""
    spec = FaultSpec.parse("5xx=0.2,429=0.1,partial=0.5,seed=1")
    kinds = Counter(d[0] if d else None for d in draws(FaultInjector(spec, "x"), 5000))
    assert FaultKind.PARTIAL not in kinds
    assert 0.17 < kinds[FaultKind.ERROR_5XX] / 5000 < 0.23
    assert 0.08 < kinds[FaultKind.THROTTLE] / 5000 < 0.12
    batch = Counter(d[0] if d else None for d in draws(FaultInjector(spec, "x"), 5000, batch=True))
    # partial applies to the 70 % left after 5xx and 429: about 35 % of all
    assert 0.31 < batch[FaultKind.PARTIAL] / 5000 < 0.39


def test_partial_failures_fail_some_but_not_all() -> None:
    """A partial fault picks at least one and never every item of a batch."""
    spec = FaultSpec.parse("partial=1,seed=9")
    injector = FaultInjector(spec, "x")
    for _ in range(50):
        fault = injector.draw(batch=True)
        assert fault is not None
        failing = fault.failing(12)
        assert 1 <= len(failing) < 12
        assert failing <= set(range(12))


def test_set_spec_restarts_the_sequence() -> None:
    """Setting a spec at run time starts the draw sequence over (a drill can be replayed)."""
    spec = FaultSpec.parse("5xx=0.5,seed=2")
    injector = FaultInjector(spec, "x")
    first = draws(injector, 20)
    injector.set_spec(spec)
    assert draws(injector, 20) == first


def test_accounting_counts_per_crm_endpoint_and_object() -> None:
    """Accounting groups calls, records written and faults, and forgets on reset."""
    acc = Accounting()
    acc.call("salesforce", "query", "Opportunity")
    acc.call("salesforce", "query", "Opportunity")
    acc.call("salesforce", "limits")
    acc.written("salesforce", "OKR_Key_Result__c", 200)
    acc.fault("hubspot", "429")
    snap = acc.snapshot()
    assert snap["salesforce"]["calls"] == 3
    assert snap["salesforce"]["by_endpoint"] == {"limits": 1, "query": 2}
    assert snap["salesforce"]["by_object"] == {"Opportunity": 2}
    assert snap["salesforce"]["records_written"] == {"OKR_Key_Result__c": 200}
    assert snap["hubspot"]["faults"] == {"429": 1}
    assert acc.calls("salesforce") == 3
    acc.reset()
    assert acc.snapshot() == {}


class _FakeSandbox:
    def __init__(self, name: str) -> None:
        self.name = name
        self.faults = FaultInjector(FaultSpec(), name)


def _http(url: str, method: str = "GET", body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310  (loopback)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_admin_api_over_http() -> None:
    """The admin API reports stats, resets them and sets faults per CRM at run time."""
    acc = Accounting()
    sandboxes: dict[str, Any] = {
        "salesforce": _FakeSandbox("salesforce"),
        "hubspot": _FakeSandbox("hubspot"),
    }
    served = serve(AdminApp(acc, sandboxes))
    try:
        acc.call("hubspot", "search", "deals")
        assert _http(served.url + "/stats") == (200, acc.snapshot())
        status, body = _http(
            served.url + "/faults", "PUT", {"crm": "hubspot", "5xx": 0.25, "seed": 4}
        )
        assert status == 200
        assert body == {"hubspot": {"latency_ms": 0.0, "seed": 4, "5xx": 0.25}}
        assert sandboxes["hubspot"].faults.spec.rates == {FaultKind.ERROR_5XX: 0.25}
        assert sandboxes["salesforce"].faults.spec.rates == {}
        assert _http(served.url + "/faults", "PUT", {"latency": "20ms"})[0] == 200
        assert sandboxes["salesforce"].faults.spec.latency_ms == 20
        assert _http(served.url + "/faults", "PUT", {"boom": 1})[0] == 400
        assert _http(served.url + "/faults", "PUT", {"crm": "pipedrive"})[0] == 404
        assert _http(served.url + "/reset", "POST", {}) == (200, {"reset": True})
        assert _http(served.url + "/stats") == (200, {})
    finally:
        served.stop()
