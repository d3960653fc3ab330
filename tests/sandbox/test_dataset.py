"""The sandbox data set: deterministic, consistent, time-travelling and realistic."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

import pytest

from okrsync_sandbox.dataset import (
    KINDS,
    OPEN_STAGES,
    SIZES,
    STAGE_PROBABILITY,
    Account,
    Activity,
    Case,
    Dataset,
    Deal,
    Lead,
    NpsResponse,
)

Q3_START, Q3_END = date(2026, 7, 1), date(2026, 9, 30)
H2_END = date(2026, 12, 31)
AS_OF_Q3 = datetime(2026, 9, 30, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)


@dataclass
class World:
    """Every record of a data set at one instant."""

    accounts: list[Account]
    deals: list[Deal]
    leads: list[Lead]
    activities: list[Activity]
    cases: list[Case]
    nps: list[NpsResponse]

    def all(self) -> list[object]:
        """Every record, kind after kind."""
        return [*self.accounts, *self.deals, *self.leads, *self.activities, *self.cases, *self.nps]


def world(ds: Dataset, as_of: datetime) -> World:
    return World(
        list(ds.accounts(as_of)),
        list(ds.deals(as_of)),
        list(ds.leads(as_of)),
        list(ds.activities(as_of)),
        list(ds.cases(as_of)),
        list(ds.nps_responses(as_of)),
    )


def fingerprint(ds: Dataset, as_of: datetime) -> str:
    digest = hashlib.sha256()
    for record in [*ds.teams(), *ds.users(), *world(ds, as_of).all()]:
        digest.update(repr(record).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def small() -> Dataset:
    return Dataset(7, "small")


@pytest.fixture(scope="module")
def q3() -> World:
    """The medium data set as of the last day of 2026-Q3."""
    return world(Dataset(7, "medium"), AS_OF_Q3)


def in_q3(day: date) -> bool:
    return Q3_START <= day <= Q3_END


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("size", ["small", 3_000])
def test_same_seed_same_records(size: str | int) -> None:
    """The same seed, size and as-of instant give exactly the same records in the same order."""
    as_of = datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert fingerprint(Dataset(11, size), as_of) == fingerprint(Dataset(11, size), as_of)


def test_different_seeds_differ() -> None:
    """Different seeds give different data sets."""
    as_of = datetime(2026, 11, 21, tzinfo=UTC)
    assert fingerprint(Dataset(1, "small"), as_of) != fingerprint(Dataset(2, "small"), as_of)


def test_each_crm_has_its_own_history_of_one_organisation() -> None:
    """Two histories of one seed share teams and users but not accounts, deals or leads."""
    as_of = datetime(2026, 9, 1, tzinfo=UTC)
    crm_a, crm_b = Dataset(7, "small", history="a"), Dataset(7, "small", history="b")
    assert list(crm_a.users()) == list(crm_b.users()) == list(Dataset(7, "small").users())
    assert list(crm_a.teams()) == list(crm_b.teams())
    won = [
        sum(d.amount or 0 for d in ds.deals(as_of) if d.is_won and d.close_date >= Q3_START)
        for ds in (crm_a, crm_b)
    ]
    assert won[0] != won[1]
    assert [a.name for a in crm_a.accounts(as_of)] != [a.name for a in crm_b.accounts(as_of)]
    assert list(crm_a.leads(as_of)) != list(crm_b.leads(as_of))
    again = Dataset(7, "small", history="a")
    assert fingerprint(again, as_of) == fingerprint(crm_a, as_of)  # deterministic per seed


def test_records_do_not_depend_on_reading_order(small: Dataset) -> None:
    """Entity i is the same whether or not other kinds (or other views) were generated first."""
    as_of = datetime(2026, 8, 3, tzinfo=UTC)
    fresh = Dataset(7, "small")
    leads_first = list(fresh.leads(as_of))
    assert list(small.leads(as_of)) == leads_first
    assert list(fresh.deals(as_of)) == list(Dataset(7, "small").deals(as_of))
    interleaved = list(zip(fresh.deals(as_of), fresh.activities(as_of), strict=False))
    assert [d for d, _ in interleaved] == list(small.deals(as_of))[: len(interleaved)]


def test_ids_are_unique_and_shaped_per_kind(small: Dataset) -> None:
    """Ids are unique within each kind and carry the kind's prefix and six digits."""
    w = world(small, END)
    prefixes = {"accounts": "acc", "deals": "deal", "leads": "lead", "activities": "act"}
    prefixes |= {"cases": "case", "nps": "nps"}
    for kind, prefix in prefixes.items():
        ids = [r.id for r in getattr(w, kind)]
        assert len(ids) == len(set(ids)), kind
        assert all(i.startswith(f"{prefix}-") and len(i) == len(prefix) + 7 for i in ids)
        assert ids == sorted(ids)


# --------------------------------------------------------------------------- consistency


@pytest.mark.parametrize(
    "as_of", [datetime(2025, 9, 1, tzinfo=UTC), datetime(2026, 10, 15, tzinfo=UTC)]
)
def test_references_point_at_existing_records(small: Dataset, as_of: datetime) -> None:
    """Every owner, account and deal a record names exists at the as-of instant and is older."""
    users = {u.id for u in small.users()}
    teams = {t.id for t in small.teams()}
    w = world(small, as_of)
    accounts = {a.id: a for a in w.accounts}
    deals = {d.id: d for d in w.deals}
    assert all(
        u.team_id in teams and (u.manager_id is None or u.manager_id in users)
        for u in small.users()
    )
    assert all(t.manager_id in users for t in small.teams())
    assert all(a.owner_id in users for a in w.accounts)
    for d in w.deals:
        assert d.owner_id in users
        assert accounts[d.account_id].created <= d.created
    for lead in w.leads:
        assert lead.owner_id in users
        if lead.is_converted:
            assert lead.converted_account_id is not None
            assert lead.converted_deal_id is not None
            account, deal = accounts[lead.converted_account_id], deals[lead.converted_deal_id]
            assert deal.account_id == account.id
            assert lead.created <= account.created == deal.created
            assert lead.converted_on == account.created.date()
            assert lead.company == account.name
        else:
            assert lead.converted_account_id is None
            assert lead.converted_deal_id is None
    for a in w.activities:
        assert a.owner_id in users
        if a.account_id is not None:
            assert accounts[a.account_id].created <= a.created
        if a.deal_id is not None:
            assert deals[a.deal_id].account_id == a.account_id
            assert deals[a.deal_id].created <= a.created
    for case in w.cases:
        assert accounts[case.account_id].created <= case.created
    for response in w.nps:
        assert accounts[response.account_id].created <= response.submitted


def test_cases_and_surveys_come_from_customers(small: Dataset) -> None:
    """Support cases and survey answers come from accounts that were customers at the time."""
    w = world(small, END)
    accounts = {a.id: a for a in w.accounts}

    def customer(account_id: str, when: datetime) -> bool:
        a = accounts[account_id]
        since_ok = a.customer_since is not None and a.customer_since <= when.date()
        return since_ok and (a.churned_on is None or a.churned_on >= when.date())

    share = [customer(c.account_id, c.created) for c in w.cases]
    share += [customer(n.account_id, n.submitted) for n in w.nps]
    assert sum(share) / len(share) > 0.97


def test_first_deals_make_customers(small: Dataset) -> None:
    """A converted lead's deal, when won, is the day its account became a customer."""
    w = world(small, END)
    accounts = {a.id: a for a in w.accounts}
    deals = {d.id: d for d in w.deals}
    converted = [lead for lead in w.leads if lead.is_converted]
    assert converted
    for lead in converted:
        assert lead.converted_deal_id is not None
        assert lead.converted_account_id is not None
        deal, account = deals[lead.converted_deal_id], accounts[lead.converted_account_id]
        if deal.is_won:
            assert account.customer_since == deal.close_date
            assert lead.lifecycle_stage == "customer"
        else:
            assert account.customer_since is None
            assert lead.lifecycle_stage == "opportunity"


def test_values_have_their_documented_shapes(small: Dataset) -> None:
    """Datetimes are UTC-aware, enumerations stay within their values, numbers in range."""
    w = world(small, END)
    for record in w.all():
        for f in fields(record):  # type: ignore[arg-type]
            value = getattr(record, f.name)
            if isinstance(value, datetime):
                assert value.tzinfo is not None
                assert value.utcoffset() == timedelta(0)
    assert {d.stage for d in w.deals} <= set(STAGE_PROBABILITY)
    assert all(d.probability == STAGE_PROBABILITY[d.stage] for d in w.deals)
    assert {a.kind for a in w.activities} == {"task", "event"}
    assert all(a.type != "Sales Training" or a.kind == "event" for a in w.activities)
    ranges = {"NPS": range(11), "CSAT": range(1, 6), "CES": range(1, 8)}
    assert all(n.score in ranges[n.survey_type] for n in w.nps)
    assert {n.survey_type for n in w.nps} == set(ranges)
    assert all(u.email.endswith("@acme.example") for u in small.users())
    assert len({u.email for u in small.users()}) == len(list(small.users()))
    assert "lena.hoffmann@acme.example" in {u.email for u in small.users()}
    assert {t.name for t in small.teams()} >= {
        "Management",
        "EMEA Sales",
        "New Business",
        "Sales Operations",
        "Customer Success",
    }


# --------------------------------------------------------------------------- time travel


def test_deal_closing_later_is_open_now_and_closed_later(small: Dataset) -> None:
    """A deal closing after the as-of instant is open then, and closed with the same id later."""
    now = datetime(2026, 5, 4, tzinfo=UTC)
    later = {d.id: d for d in small.deals(END)}
    open_now = [d for d in small.deals(now) if d.close_date > now.date()]
    assert open_now
    for deal in open_now:
        assert not deal.is_closed
        assert not deal.is_won
        assert deal.stage in OPEN_STAGES
        assert 0 < deal.probability < 1
        closed = later[deal.id]
        assert closed.is_closed
        assert (closed.name, closed.account_id, closed.created) == (
            deal.name,
            deal.account_id,
            deal.created,
        )
        assert closed.close_date >= now.date()
        assert closed.last_modified > now


def test_nothing_from_the_future(small: Dataset) -> None:
    """Records created after the as-of instant are absent; the last change is never later."""
    for as_of in (datetime(2025, 7, 1, 12, tzinfo=UTC), datetime(2026, 3, 17, 15, 30, tzinfo=UTC)):
        w = world(small, as_of)
        for record in w.all():
            created = getattr(record, "created", None) or getattr(record, "submitted", None)
            assert isinstance(created, datetime)
            assert created <= record.last_modified <= as_of  # type: ignore[attr-defined]
        assert all(a.customer_since is None or a.customer_since <= as_of.date() for a in w.accounts)
        assert all(a.churned_on is None or a.churned_on <= as_of.date() for a in w.accounts)
        assert all(
            lead.converted_on is None or lead.converted_on <= as_of.date() for lead in w.leads
        )
        assert all(a.status != "Completed" or a.last_modified <= as_of for a in w.activities)
        assert all(c.closed is None or c.closed <= as_of for c in w.cases)


def test_later_views_only_add_and_change(small: Dataset) -> None:
    """Moving the as-of instant forward keeps every record's identity and never loses one."""
    earlier = world(small, datetime(2026, 2, 2, tzinfo=UTC))
    later = world(small, datetime(2026, 6, 8, tzinfo=UTC))
    later_deals = {d.id: d for d in later.deals}
    later_leads = {lead.id: lead for lead in later.leads}
    later_accounts = {a.id: a for a in later.accounts}
    assert all(
        d.id in later_deals and later_deals[d.id].owner_id == d.owner_id for d in earlier.deals
    )
    for lead in earlier.leads:
        assert (later_leads[lead.id].email, later_leads[lead.id].created) == (
            lead.email,
            lead.created,
        )
        assert later_leads[lead.id].last_modified >= lead.last_modified
        assert not lead.is_converted or later_leads[lead.id].is_converted
    for a in earlier.accounts:
        assert later_accounts[a.id].name == a.name
        assert a.customer_since is None or later_accounts[a.id].customer_since == a.customer_since
    changed = [lead for lead in earlier.leads if later_leads[lead.id] != lead]
    assert changed, "a quarter later some leads must have moved on"


def test_counts_grow_and_match_the_views(small: Dataset) -> None:
    """Counts of every kind never shrink week by week and equal what the views yield."""
    previous = dict.fromkeys(KINDS, 0)
    as_of = datetime(2025, 6, 30, tzinfo=UTC)
    while as_of <= END:
        counts = small.counts(as_of)
        assert list(counts) == list(KINDS)
        assert all(counts[k] >= previous[k] for k in KINDS)
        previous = counts
        as_of += timedelta(days=7)
    for as_of in (datetime(2025, 7, 1, 9, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC), END):
        w = world(small, as_of)
        counts = small.counts(as_of)
        lengths = [
            len(w.accounts),
            len(w.deals),
            len(w.leads),
            len(w.activities),
            len(w.cases),
            len(w.nps),
        ]
        assert lengths == [counts[k] for k in KINDS[2:]]
    assert sum(small.counts(END).values()) == small.total_rows


def test_weekly_steps_change_some_records(small: Dataset) -> None:
    """A week later, an incremental pull sees changed records: stage moves, completions."""
    monday = datetime(2026, 8, 10, tzinfo=UTC)
    week = monday + timedelta(days=7)
    since = {d.id: d.last_modified for d in small.deals(monday)}
    changed = [d for d in small.deals(week) if d.id in since and d.last_modified > since[d.id]]
    assert changed
    assert all(monday < d.last_modified <= week for d in changed)


# --------------------------------------------------------------------------- realism


def test_q3_metrics_are_plausible(q3: World) -> None:
    """Every catalog metric has a non-trivial value for 2026-Q3 as of its last day."""
    closed = [d for d in q3.deals if d.is_closed and in_q3(d.close_date)]
    won = [d for d in closed if d.is_won]
    assert 0.1 < len(won) / len(closed) < 0.6
    assert sum(d.amount or 0 for d in won) > 0
    pipeline = [d for d in q3.deals if not d.is_closed and in_q3(d.close_date)]
    assert sum(d.amount or 0 for d in pipeline) > 0
    assert sum(d.amount or 0 for d in q3.deals if in_q3(d.created.date())) > 0

    nps = [r.score for r in q3.nps if r.survey_type == "NPS" and in_q3(r.submitted.date())]
    value = (sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)) / len(nps) * 100
    assert -100 < value < 100
    assert value != 0

    active = [
        a
        for a in q3.accounts
        if a.customer_since is not None
        and a.customer_since < Q3_START
        and (a.churned_on is None or a.churned_on >= Q3_START)
    ]
    churned = [a for a in active if a.churned_on is not None and in_q3(a.churned_on)]
    assert 0 < len(churned) / len(active) < 0.2

    leads = [lead for lead in q3.leads if in_q3(lead.created.date())]
    assert 0.05 < sum(lead.is_converted for lead in leads) / len(leads) < 0.4
    qualified = sum(lead.qualified_on is not None for lead in leads) / len(leads)
    assert 0.05 < qualified < 0.8
    assert (
        0.05
        < sum(lead.lifecycle_stage in {"opportunity", "customer"} for lead in leads) / len(leads)
        < 0.4
    )

    enquiries = [c for c in q3.cases if c.origin in {"Email", "Web"} and in_q3(c.created.date())]
    fast = [
        c for c in enquiries if c.first_response_hours is not None and c.first_response_hours <= 4
    ]
    assert 0.3 < len(fast) / len(enquiries) < 1


def test_q3_key_results_have_their_activities(q3: World) -> None:
    """Interviews, trainings and the call-guide milestone of the example mappings exist."""
    interviews = [
        a
        for a in q3.activities
        if a.type == "Customer Interview" and a.status == "Completed" and in_q3(a.activity_date)
    ]
    assert len(interviews) >= 1
    assert all(a.kind == "task" for a in interviews)
    trainings = [a for a in q3.activities if a.type == "Sales Training" and in_q3(a.activity_date)]
    assert 1 <= len(trainings) < 10
    guide = [a for a in q3.activities if a.subject == "Call guide v2 published"]
    assert len(guide) == 1
    assert guide[0].status == "Completed"
    assert guide[0].kind == "task"
    assert in_q3(guide[0].activity_date)
    assert guide[0].last_modified.date() == guide[0].activity_date


def test_call_guide_is_open_before_it_is_published(small: Dataset) -> None:
    """The call-guide task exists from early July and is completed only in mid-August."""
    july = [
        a
        for a in small.activities(datetime(2026, 7, 20, tzinfo=UTC))
        if a.subject == "Call guide v2 published"
    ]
    assert [a.status for a in july] == ["Not Started"]
    assert all(
        a.subject != "Call guide v2 published"
        for a in small.activities(datetime(2026, 6, 30, tzinfo=UTC))
    )


def test_h2_has_deals_and_churn(q3: World) -> None:
    """The half-year cycle has open pipeline left for Q4 and customers who churned in Q3."""
    q4_pipeline = [d for d in q3.deals if not d.is_closed and Q3_END < d.close_date <= H2_END]
    assert sum(d.amount or 0 for d in q4_pipeline) > 0
    amounts = sorted(d.amount for d in q3.deals if d.is_won and d.amount is not None)
    median = amounts[len(amounts) // 2]
    assert 10_000 < median < 80_000
    assert amounts[-1] > 5 * median  # a long tail
    assert any(d.amount is None for d in q3.deals)


def test_closes_cluster_at_quarter_end(q3: World) -> None:
    """More deals close in the last two weeks of a quarter than in two average weeks."""
    closes = [
        d.close_date
        for d in q3.deals
        if d.is_closed and date(2025, 10, 1) <= d.close_date <= Q3_END
    ]
    last_two_weeks = sum(1 for day in closes if day.month in {12, 3, 6, 9} and day.day > 16)
    assert last_two_weeks > len(closes) / 26 * 4 * 1.5  # 26 fortnights a year


# --------------------------------------------------------------------------- sizes, laziness


@pytest.mark.parametrize("size", list(SIZES))
def test_presets_hit_their_targets(size: str) -> None:
    """Each preset plans its number of entities within ten percent."""
    ds = Dataset(0, size)
    assert abs(ds.total_rows - SIZES[size]) <= SIZES[size] * 0.1
    assert sum(ds.planned.values()) == ds.total_rows


def test_integer_sizes_and_bad_arguments() -> None:
    """An integer size is honoured; unknown names, tiny sizes and naive instants are refused."""
    assert Dataset(0, 12_345).total_rows == 12_345
    with pytest.raises(ValueError, match="unknown dataset size"):
        Dataset(0, "huge")
    with pytest.raises(ValueError, match="at least"):
        Dataset(0, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        Dataset(0, "small").deals(datetime(2026, 1, 1))  # noqa: DTZ001


def test_views_are_lazy() -> None:
    """The first record of every view of the large data set arrives at once."""
    started = time.perf_counter()
    ds = Dataset(3, "large")
    as_of = datetime(2026, 11, 21, tzinfo=UTC)
    for view in (ds.accounts, ds.deals, ds.leads, ds.activities, ds.cases, ds.nps_responses):
        assert next(iter(view(as_of))) is not None
    assert time.perf_counter() - started < 2
