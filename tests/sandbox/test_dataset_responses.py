"""The sandbox history's first responses to leads and onboarding surveys: deterministic, consistent, telling a story."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime

from okrsync_sandbox.dataset import Dataset

EARLY = datetime(2026, 7, 20, 12, tzinfo=UTC)
LATE = datetime(2026, 11, 30, 12, tzinfo=UTC)
SPEED_TO_LEAD = date(2026, 7, 1)


def test_the_same_seed_gives_the_same_responses_and_surveys() -> None:
    """Two datasets of one seed agree record for record; another seed differs."""
    one, two, other = Dataset(4, 3000), Dataset(4, 3000), Dataset(5, 3000)
    assert list(one.lead_responses(LATE)) == list(two.lead_responses(LATE))
    assert list(one.onboarding_surveys(LATE)) == list(two.onboarding_surveys(LATE))
    assert list(one.lead_responses(LATE)) != list(other.lead_responses(LATE))


def test_a_response_never_changes_once_made() -> None:
    """What had happened by an earlier date is part of the later history, unchanged."""
    dataset = Dataset(4, 3000)
    later = {r.id: r for r in dataset.lead_responses(LATE)}
    earlier = list(dataset.lead_responses(EARLY))
    assert earlier
    assert all(later[r.id] == r for r in earlier)
    surveys = {s.id: s for s in dataset.onboarding_surveys(LATE)}
    assert all(surveys[s.id] == s for s in dataset.onboarding_surveys(EARLY))


def test_responses_follow_their_lead_and_got_faster_in_the_third_quarter() -> None:
    """Each response is by the lead's owner after it came in; the speed-to-lead push halved the median."""
    dataset = Dataset(4, 20_000)
    leads = {lead.id: lead for lead in dataset.leads(LATE)}
    before, after = [], []
    for response in dataset.lead_responses(LATE):
        lead = leads[response.lead_id]
        assert response.owner_id == lead.owner_id
        assert lead.created < response.at <= LATE
        assert response.channel in {"Call", "Email"}
        hours = (response.at - lead.created).total_seconds() / 3600
        (after if lead.created.date() >= SPEED_TO_LEAD else before).append(hours)
    assert len(before) + len(after) < len(leads)  # leads nobody works get no response
    assert statistics.median(after) < statistics.median(before) / 1.5


def test_onboarding_surveys_come_from_new_customers_weeks_after_signing() -> None:
    """Only customers won in the CRM (not imported at go-live) answer, two to five weeks in, while still customers."""
    dataset = Dataset(4, 20_000)
    accounts = {a.id: a for a in dataset.accounts(LATE)}
    surveys = list(dataset.onboarding_surveys(LATE))
    assert len(surveys) > 50
    for survey in surveys:
        account = accounts[survey.account_id]
        assert account.customer_since is not None
        assert account.customer_since > dataset.start  # won in the CRM, not imported
        assert 14 <= (survey.submitted.date() - account.customer_since).days <= 40
        assert account.churned_on is None or account.churned_on >= survey.submitted.date()
        assert survey.survey_type == "NPS"
        assert 0 <= survey.score <= 10
    assert len({s.id for s in surveys}) == len(surveys)
