"""Exact-number tests for the scoring rules in :mod:`okrsync.scoring`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from okrsync.scoring import (
    AT_RISK_AT,
    ON_TRACK_AT,
    CheckInPoint,
    CycleDates,
    KeyResultScore,
    Status,
    WeightedScore,
    clamp,
    expected_progress,
    forecast_score,
    progress,
    round2,
    score_key_result,
    score_objective,
    status_from,
)

# A ten-day cycle: day 0 is Jan 1, the last day (day 9) is Jan 10; cycle_days = 10.
CYCLE = CycleDates(start=date(2025, 1, 1), end=date(2025, 1, 10))
END_DAY = 9


def day(n: int) -> date:
    """Return the date ``n`` days after the start of ``CYCLE``."""
    return CYCLE.start + timedelta(days=n)


def kr_score(
    score: float | None, forecast: float | None, status: Status, *, value: float | None = 1.0
) -> KeyResultScore:
    """Build a key result score by hand for the roll-up tests."""
    return KeyResultScore(
        value=value if score is not None else None,
        progress=score,
        score=score,
        expected=0.5,
        forecast_score=forecast,
        status=status,
    )


# --- constants -------------------------------------------------------------------------


def test_band_thresholds():
    """The status bands start at 0.7 (on track) and 0.4 (at risk)."""
    assert ON_TRACK_AT == 0.7
    assert AT_RISK_AT == 0.4


def test_status_values():
    """Status members serialise to their snake_case strings."""
    assert [s.value for s in Status] == [
        "not_started",
        "no_data",
        "done",
        "on_track",
        "at_risk",
        "off_track",
    ]
    assert Status.ON_TRACK == "on_track"


# --- clamp and round2 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "expected"),
    [(-0.5, 0.0), (0.0, 0.0), (0.25, 0.25), (1.0, 1.0), (1.5, 1.0)],
)
def test_clamp_default_bounds(x, expected):
    """Clamp limits a number to [0, 1] by default."""
    assert clamp(x) == expected


def test_clamp_custom_bounds():
    """Clamp honours explicit bounds."""
    assert clamp(5.0, 1.0, 3.0) == 3.0
    assert clamp(-5.0, 1.0, 3.0) == 1.0
    assert clamp(2.0, 1.0, 3.0) == 2.0


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.125, 0.13),  # half up; banker's rounding (round()) would give 0.12
        (0.115, 0.12),
        (2.675, 2.68),  # round() gives 2.67 because the binary float is 2.67499999...
        (1.005, 1.01),  # round() gives 1.0 for the same reason
        (0.005, 0.01),
        (0.875, 0.88),
        (0.714285, 0.71),
        (0.994999, 0.99),
        (0.995, 1.0),
        (0.7, 0.7),
        (0.0, 0.0),
        (1.0, 1.0),
        (-0.125, -0.13),  # halves round away from zero
        (1e20, 1e20),  # large numbers do not overflow the decimal context
    ],
)
def test_round2_half_up_on_decimal_representation(x, expected):
    """round2 rounds half up on the decimal representation, not the binary float."""
    assert round2(x) == expected


@pytest.mark.parametrize("x", [float("nan"), float("inf"), float("-inf")])
def test_round2_rejects_non_finite(x):
    """round2 raises ValueError for NaN and infinities."""
    with pytest.raises(ValueError, match="non-finite"):
        round2(x)


# --- progress --------------------------------------------------------------------------


def test_progress_increasing_direction():
    """Higher is better when start < target: NPS 30 -> 50 at 40 is halfway."""
    # (40 - 30) / (50 - 30) = 10 / 20 = 0.5
    assert progress(40, 30, 50) == 0.5


def test_progress_decreasing_direction():
    """Lower is better when start > target: churn 0.15 -> 0.08 at 0.10 is 0.714..."""
    # (0.10 - 0.15) / (0.08 - 0.15) = -0.05 / -0.07 = 5/7 = 0.714285...
    assert progress(0.10, 0.15, 0.08) == pytest.approx(5 / 7)
    assert round2(progress(0.10, 0.15, 0.08)) == 0.71


@pytest.mark.parametrize(
    ("value", "start", "target", "expected"),
    [
        (120, 0, 100, 1.0),  # (120 - 0) / 100 = 1.2 -> clamped to 1
        (-10, 0, 100, 0.0),  # -0.1 -> clamped to 0
        (0.05, 0.15, 0.08, 1.0),  # better than the target in the decreasing direction
        (0.20, 0.15, 0.08, 0.0),  # worse than the start in the decreasing direction
        (100, 0, 100, 1.0),
        (0, 0, 100, 0.0),
    ],
)
def test_progress_clamps(value, start, target, expected):
    """Progress beyond the target is 1 and behind the start is 0, in both directions."""
    assert progress(value, start, target) == expected


@pytest.mark.parametrize(("value", "expected"), [(0, 0.0), (1, 1.0), (2, 1.0), (0.99, 0.0)])
def test_progress_milestone(value, expected):
    """A milestone (0 -> 1) is 1 when value >= target, else 0."""
    assert progress(value, 0, 1, milestone=True) == expected


def test_progress_milestone_allows_start_equal_to_target():
    """A milestone may have start == target; it is still 1 only at value >= target."""
    assert progress(0, 1, 1, milestone=True) == 0.0
    assert progress(1, 1, 1, milestone=True) == 1.0


def test_progress_start_equal_to_target_raises():
    """A non-milestone key result with start == target raises ValueError."""
    with pytest.raises(ValueError, match="must differ"):
        progress(5, 5, 5)


@pytest.mark.parametrize(
    ("value", "start", "target"),
    [(float("nan"), 0, 1), (1, float("inf"), 2), (1, 0, float("-inf"))],
)
def test_progress_rejects_non_finite(value, start, target):
    """Progress raises ValueError for non-finite numbers."""
    with pytest.raises(ValueError, match="finite"):
        progress(value, start, target)


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(start=finite, target=finite, v1=finite, v2=finite)
def test_progress_bounded_and_monotone(start, target, v1, v2):
    """Progress stays in [0, 1] and never drops as the value improves."""
    assume(abs(target - start) >= 1e-6)
    low, high = sorted((v1, v2))
    p_low, p_high = progress(low, start, target), progress(high, start, target)
    assert 0.0 <= p_low <= 1.0
    assert 0.0 <= p_high <= 1.0
    if start < target:
        assert p_low <= p_high
    else:
        assert p_low >= p_high


# --- expected progress -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (day(0), 0.1),  # elapsed 1 of 10 days
        (day(4), 0.5),  # elapsed 5 / 10
        (day(9), 1.0),  # last day: 10 / 10
        (day(20), 1.0),  # after the end: 21 / 10 -> clamped to 1
        (day(-1), 0.0),  # day before the start: 0 / 10
        (day(-30), 0.0),  # long before: -29 / 10 -> clamped to 0
    ],
)
def test_expected_progress(as_of, expected):
    """Expected progress is the share of cycle days elapsed, counting as_of itself."""
    assert expected_progress(CYCLE, as_of) == expected


def test_expected_progress_is_rounded():
    """Expected progress is rounded half up to two decimals."""
    # Jan 1 .. Jan 7 is 7 days; as of Jan 1: 1 / 7 = 0.142857... -> 0.14
    seven = CycleDates(date(2025, 1, 1), date(2025, 1, 7))
    assert expected_progress(seven, date(2025, 1, 1)) == 0.14
    # Jan 1 .. Jan 8 is 8 days; as of Jan 1: 1 / 8 = 0.125 -> 0.13 (half up)
    eight = CycleDates(date(2025, 1, 1), date(2025, 1, 8))
    assert expected_progress(eight, date(2025, 1, 1)) == 0.13


def test_expected_progress_zero_length_cycle():
    """A cycle with start == end has one day: expected is 1 on it, 0 before it."""
    one_day = CycleDates(date(2025, 1, 1), date(2025, 1, 1))
    assert expected_progress(one_day, date(2025, 1, 1)) == 1.0  # 1 / 1
    assert expected_progress(one_day, date(2025, 1, 2)) == 1.0  # 2 / 1 -> clamped
    assert expected_progress(one_day, date(2024, 12, 31)) == 0.0  # 0 / 1


# --- forecast --------------------------------------------------------------------------


def test_forecast_without_check_ins_uses_start_and_current_value():
    """Without check-ins the line runs through (0, start) and (as-of day, value)."""
    # Points (0, 0) and (3, 20): slope 20/3 per day; at day 9: 20/3 * 9 = 60 -> 0.6
    assert forecast_score(CYCLE, 0, 100, 20, day(3)) == 0.6


def test_forecast_with_one_check_in():
    """With one check-in the line runs through (0, start) and that check-in only."""
    # Points (0, 0) and (2, 10): slope 5; at day 9: 45 -> 0.45.
    # The current value (40) is not a point once a check-in counts.
    check_ins = [CheckInPoint(day(2), 10)]
    assert forecast_score(CYCLE, 0, 100, 40, day(5), check_ins) == 0.45


# Points (0, 0), (1, 10), (2, 25), (3, 30):
#   mean x = 6/4 = 1.5, mean y = 65/4 = 16.25
#   dx = -1.5, -0.5, 0.5, 1.5            -> Sxx = 2.25 + 0.25 + 0.25 + 2.25 = 5
#   dy = -16.25, -6.25, 8.75, 13.75      -> Sxy = 24.375 + 3.125 + 4.375 + 20.625 = 52.5
#   b = 52.5 / 5 = 10.5; at day 9: 16.25 + 10.5 * (9 - 1.5) = 16.25 + 78.75 = 95 -> 0.95
MANY_CHECK_INS = [
    CheckInPoint(day(2), 25),  # deliberately out of order
    CheckInPoint(day(1), 10),
    CheckInPoint(day(3), 30),
]


def test_forecast_with_many_check_ins_is_ols():
    """With several check-ins the forecast is the least-squares line at the last day."""
    assert forecast_score(CYCLE, 0, 100, 30, day(4), MANY_CHECK_INS) == 0.95


def test_forecast_ignores_check_ins_outside_cycle_or_after_as_of():
    """Check-ins before the cycle, after the cycle or after as_of do not count."""
    noise = [
        CheckInPoint(day(-1), 99),  # before the cycle
        CheckInPoint(day(5), 0),  # after as_of (day 4)
        CheckInPoint(day(12), 0),  # after the cycle end
    ]
    # Same points as the OLS example -> 0.95
    result = forecast_score(CYCLE, 0, 100, 30, day(4), [*noise, *MANY_CHECK_INS])
    assert result == 0.95


def test_forecast_after_cycle_end_ignores_check_ins_after_end():
    """After the cycle ends, check-ins within the cycle count and later ones do not."""
    check_ins = [*MANY_CHECK_INS, CheckInPoint(day(15), 0)]
    # as_of day 30 is after the end; the day-15 check-in is outside the cycle -> 0.95
    assert forecast_score(CYCLE, 0, 100, 30, day(30), check_ins) == 0.95


def test_forecast_ignores_check_ins_without_value():
    """Check-ins whose value is None do not count."""
    check_ins = [*MANY_CHECK_INS, CheckInPoint(day(4), None)]
    assert forecast_score(CYCLE, 0, 100, 30, day(4), check_ins) == 0.95


def test_forecast_only_ignored_check_ins_falls_back_to_current_value():
    """If no check-in counts, the line runs through (0, start) and the current value."""
    check_ins = [CheckInPoint(day(-1), 99), CheckInPoint(day(2), None), CheckInPoint(day(6), 0)]
    # Points (0, 0) and (3, 20) -> 60 at day 9 -> 0.6
    assert forecast_score(CYCLE, 0, 100, 20, day(3), check_ins) == 0.6


def test_forecast_without_check_ins_after_cycle_end_is_score():
    """After the end, the as-of day is the last day, so the line hits the current value."""
    # as-of day = (min(day 30, day 9) - day 0) = 9; points (0, 0), (9, 80) -> 80 -> 0.8
    assert forecast_score(CYCLE, 0, 100, 80, day(30)) == 0.8


def test_forecast_decreasing_direction():
    """The forecast uses the progress rule, so it works for lower-is-better results."""
    # Churn 0.15 -> 0.08, at 0.12 on day 3: slope -0.01 per day; at day 9: 0.06
    # progress (0.06 - 0.15) / (0.08 - 0.15) = 0.09 / 0.07 = 1.28... -> clamped to 1
    assert forecast_score(CYCLE, 0.15, 0.08, 0.12, day(3)) == 1.0
    # at 0.14 on day 4: slope -0.0025; at day 9: 0.1275
    # progress (0.1275 - 0.15) / (-0.07) = 0.0225 / 0.07 = 0.3214... -> 0.32
    assert forecast_score(CYCLE, 0.15, 0.08, 0.14, day(4)) == 0.32


def test_forecast_is_clamped():
    """A line overshooting the target gives 1 and one falling below the start gives 0."""
    # (0, 0), (3, 50): at day 9: 150 -> 1.5 -> 1
    assert forecast_score(CYCLE, 0, 100, 50, day(3)) == 1.0
    # (0, 0), (3, -10): at day 9: -30 -> -0.3 -> 0
    assert forecast_score(CYCLE, 0, 100, -10, day(3)) == 0.0


def test_forecast_first_day_rule():
    """On the cycle's first day without check-ins the forecast score is the score."""
    # The line through (0, 0) and (0, 20) is undefined -> score 0.2
    assert forecast_score(CYCLE, 0, 100, 20, day(0)) == 0.2


def test_forecast_before_cycle_is_score():
    """Before the cycle starts (negative as-of day) the forecast score is the score."""
    assert forecast_score(CYCLE, 0, 100, 20, day(-3)) == 0.2


def test_forecast_zero_variance_rule():
    """When every point is on the same day the forecast score is the score."""
    # Points (0, 0) and (0, 50): all x = 0 -> no line -> current score 30 / 100 = 0.3
    check_ins = [CheckInPoint(day(0), 50)]
    assert forecast_score(CYCLE, 0, 100, 30, day(4), check_ins) == 0.3


def test_forecast_zero_length_cycle_is_score():
    """In a one-day cycle the forecast score is the score."""
    one_day = CycleDates(date(2025, 1, 1), date(2025, 1, 1))
    assert forecast_score(one_day, 0, 100, 45, date(2025, 1, 1)) == 0.45
    check_ins = [CheckInPoint(date(2025, 1, 1), 90)]
    assert forecast_score(one_day, 0, 100, 45, date(2025, 1, 3), check_ins) == 0.45


def test_forecast_milestone():
    """A milestone's forecast is 1 if the line reaches the target by the end, else 0."""
    # (0, 0), (3, 4): slope 4/3; at day 9: 12 >= 10 -> 1
    assert forecast_score(CYCLE, 0, 10, 0, day(5), [CheckInPoint(day(3), 4)], milestone=True) == 1.0
    # (0, 0), (3, 3): slope 1; at day 9: 9 < 10 -> 0
    assert forecast_score(CYCLE, 0, 10, 0, day(5), [CheckInPoint(day(3), 3)], milestone=True) == 0.0


def test_forecast_start_equal_to_target_raises():
    """The forecast raises ValueError for a non-milestone with start == target."""
    with pytest.raises(ValueError, match="must differ"):
        forecast_score(CYCLE, 5, 5, 5, day(3))


# --- status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forecast", "expected"),
    [
        (1.0, Status.ON_TRACK),
        (0.7, Status.ON_TRACK),
        (0.69, Status.AT_RISK),
        (0.4, Status.AT_RISK),
        (0.39, Status.OFF_TRACK),
        (0.0, Status.OFF_TRACK),
    ],
)
def test_status_bands(forecast, expected):
    """The forecast score picks the band: >= 0.7 on track, >= 0.4 at risk, else off."""
    assert status_from(0.5, forecast, started=True) is expected


def test_status_done_takes_precedence_over_forecast():
    """Progress 1 is done even with a poor forecast."""
    assert status_from(1.0, 0.0, started=True) is Status.DONE


def test_status_not_started_takes_precedence():
    """Before the cycle starts the status is not_started, whatever the data."""
    assert status_from(1.0, 1.0, started=False) is Status.NOT_STARTED
    assert status_from(None, None, started=False) is Status.NOT_STARTED


def test_status_no_data():
    """Without progress the status is no_data."""
    assert status_from(None, None, started=True) is Status.NO_DATA


def test_status_progress_without_forecast_raises():
    """Progress below 1 without a forecast score is inconsistent and raises."""
    with pytest.raises(ValueError, match="forecast"):
        status_from(0.5, None, started=True)


# --- key result ------------------------------------------------------------------------


def test_score_key_result_increasing():
    """NPS 30 -> 50 at 40 on day 4 scores 0.5 and forecasts 1.0 (on track)."""
    result = score_key_result(CYCLE, start=30, target=50, value=40, as_of=day(4))
    # progress 10 / 20 = 0.5; expected 5 / 10 = 0.5
    # forecast: (0, 30), (4, 40): slope 2.5; at day 9: 52.5 -> 1.125 -> clamped to 1
    assert result == KeyResultScore(
        value=40,
        progress=0.5,
        score=0.5,
        expected=0.5,
        forecast_score=1.0,
        status=Status.ON_TRACK,
    )


def test_score_key_result_decreasing():
    """Churn 0.15 -> 0.08 at 0.10 on day 4 scores 0.71 and forecasts 1.0."""
    result = score_key_result(CYCLE, start=0.15, target=0.08, value=0.10, as_of=day(4))
    # progress 0.05 / 0.07 = 0.714285... -> 0.71
    # forecast: (0, 0.15), (4, 0.10): slope -0.0125; at day 9: 0.0375
    #   -> (0.0375 - 0.15) / -0.07 = 1.607... -> clamped to 1
    assert result.progress == pytest.approx(5 / 7)
    assert result.score == 0.71
    assert result.expected == 0.5
    assert result.forecast_score == 1.0
    assert result.status is Status.ON_TRACK


def test_score_key_result_with_many_check_ins():
    """The key result's forecast uses the OLS line through the check-ins."""
    result = score_key_result(
        CYCLE, start=0, target=100, value=30, as_of=day(4), check_ins=MANY_CHECK_INS
    )
    # score 30 / 100 = 0.3; forecast 0.95 (see MANY_CHECK_INS)
    assert result.score == 0.3
    assert result.forecast_score == 0.95
    assert result.status is Status.ON_TRACK


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (70, Status.ON_TRACK),
        (69, Status.AT_RISK),
        (40, Status.AT_RISK),
        (39, Status.OFF_TRACK),
    ],
)
def test_score_key_result_band_boundaries(value, expected):
    """After the cycle the forecast equals the score, so 0.7/0.69/0.4/0.39 hit each band."""
    result = score_key_result(CYCLE, start=0, target=100, value=value, as_of=day(12))
    assert result.forecast_score == value / 100
    assert result.expected == 1.0
    assert result.status is expected


def test_score_key_result_done_takes_precedence():
    """A key result at its target is done even if the forecast line points lower."""
    # check-ins (0, 0), (1, 100), (2, 0): flat-ish line, forecast far below target
    check_ins = [CheckInPoint(day(1), 100), CheckInPoint(day(2), 0)]
    result = score_key_result(
        CYCLE, start=0, target=100, value=100, as_of=day(2), check_ins=check_ins
    )
    # mean x = 1, mean y = 33.33; Sxy = (-1)(-33.3) + 0 + (1)(-33.3) = 0 -> slope 0
    # at day 9: 33.33 -> 0.33
    assert result.forecast_score == 0.33
    assert result.score == 1.0
    assert result.status is Status.DONE


def test_score_key_result_overshoot_is_done():
    """A value beyond the target clamps to progress 1 and is done."""
    result = score_key_result(CYCLE, start=0, target=100, value=120, as_of=day(4))
    assert result.progress == 1.0
    assert result.score == 1.0
    assert result.status is Status.DONE


def test_score_key_result_no_data():
    """Without a value, progress, score and forecast are None and the status is no_data."""
    result = score_key_result(
        CYCLE, start=0, target=100, value=None, as_of=day(4), check_ins=MANY_CHECK_INS
    )
    assert result == KeyResultScore(
        value=None,
        progress=None,
        score=None,
        expected=0.5,  # still computed: 5 / 10
        forecast_score=None,
        status=Status.NO_DATA,
    )


def test_score_key_result_not_started():
    """Before the cycle the status is not_started and expected is 0."""
    result = score_key_result(CYCLE, start=0, target=100, value=20, as_of=day(-5))
    assert result.status is Status.NOT_STARTED
    assert result.expected == 0.0
    assert result.score == 0.2
    assert result.forecast_score == 0.2  # negative as-of day -> the score


def test_score_key_result_not_started_without_data():
    """not_started takes precedence over no_data."""
    result = score_key_result(CYCLE, start=0, target=100, value=None, as_of=day(-1))
    assert result.status is Status.NOT_STARTED
    assert result.score is None
    assert result.expected == 0.0


def test_score_key_result_after_cycle_end():
    """After the cycle ends, expected is 1."""
    result = score_key_result(CYCLE, start=0, target=100, value=55, as_of=day(40))
    assert result.expected == 1.0
    assert result.score == 0.55
    assert result.forecast_score == 0.55
    assert result.status is Status.AT_RISK


def test_score_key_result_zero_length_cycle():
    """A one-day cycle: expected 1 on its day, forecast equal to the score."""
    one_day = CycleDates(date(2025, 1, 1), date(2025, 1, 1))
    result = score_key_result(one_day, start=0, target=100, value=50, as_of=date(2025, 1, 1))
    assert result.expected == 1.0
    assert result.score == 0.5
    assert result.forecast_score == 0.5
    assert result.status is Status.AT_RISK


@pytest.mark.parametrize(
    ("value", "score", "status"),
    [(0, 0.0, Status.OFF_TRACK), (1, 1.0, Status.DONE), (2, 1.0, Status.DONE)],
)
def test_score_key_result_milestone(value, score, status):
    """A milestone 0 -> 1 is done at 1 or more, else 0 with a flat forecast."""
    result = score_key_result(CYCLE, start=0, target=1, value=value, as_of=day(4), milestone=True)
    assert result.score == score
    assert result.status is status


def test_score_key_result_start_equal_to_target_raises():
    """A start equal to the target raises for a non-milestone, even without a value."""
    with pytest.raises(ValueError, match="must differ"):
        score_key_result(CYCLE, start=3, target=3, value=None, as_of=day(4))
    with pytest.raises(ValueError, match="must differ"):
        score_key_result(CYCLE, start=3, target=3, value=4, as_of=day(4))


# --- objective -------------------------------------------------------------------------


def test_objective_weighted_mean():
    """The objective's score and forecast are weighted means, rounded half up."""
    key_results = [
        WeightedScore(kr_score(0.5, 0.6, Status.AT_RISK), weight=1),
        WeightedScore(kr_score(1.0, 1.0, Status.DONE), weight=3),
    ]
    result = score_objective(CYCLE, key_results, day(4))
    # score: (0.5 * 1 + 1.0 * 3) / 4 = 0.875 -> 0.88 (half up)
    # forecast: (0.6 * 1 + 1.0 * 3) / 4 = 0.9 -> on track
    assert result.score == 0.88
    assert result.forecast_score == 0.9
    assert result.status is Status.ON_TRACK


def test_objective_default_weight_is_one():
    """WeightedScore's weight defaults to 1, giving a plain mean."""
    key_results = [
        WeightedScore(kr_score(0.69, 0.69, Status.AT_RISK)),
        WeightedScore(kr_score(0.71, 0.71, Status.ON_TRACK)),
    ]
    result = score_objective(CYCLE, key_results, day(4))
    # (0.69 + 0.71) / 2 = 0.7 -> exactly on the on_track boundary
    assert key_results[0].weight == 1.0
    assert result.score == 0.7
    assert result.forecast_score == 0.7
    assert result.status is Status.ON_TRACK


def test_objective_bands_use_forecast_not_score():
    """The objective's band comes from the mean forecast, not the mean score."""
    key_results = [
        WeightedScore(kr_score(0.9, 0.3, Status.OFF_TRACK)),
        WeightedScore(kr_score(0.9, 0.5, Status.AT_RISK)),
    ]
    result = score_objective(CYCLE, key_results, day(4))
    # score (0.9 + 0.9) / 2 = 0.9; forecast (0.3 + 0.5) / 2 = 0.4 -> at risk
    assert result.score == 0.9
    assert result.forecast_score == 0.4
    assert result.status is Status.AT_RISK


def test_objective_leaves_out_key_results_without_data():
    """Key results without a value are left out of both means, whatever their weight."""
    key_results = [
        WeightedScore(kr_score(0.2, 0.3, Status.OFF_TRACK), weight=1),
        WeightedScore(kr_score(None, None, Status.NO_DATA), weight=5),
    ]
    result = score_objective(CYCLE, key_results, day(4))
    assert result.score == 0.2
    assert result.forecast_score == 0.3
    assert result.status is Status.OFF_TRACK


def test_objective_all_without_data():
    """With no key result holding a value the objective has no data."""
    key_results = [
        WeightedScore(kr_score(None, None, Status.NO_DATA)),
        WeightedScore(kr_score(None, None, Status.NO_DATA), weight=2),
    ]
    result = score_objective(CYCLE, key_results, day(4))
    assert result.score is None
    assert result.forecast_score is None
    assert result.status is Status.NO_DATA


def test_objective_without_key_results():
    """An objective with no key results has no data."""
    result = score_objective(CYCLE, [], day(4))
    assert result.score is None
    assert result.status is Status.NO_DATA


def test_objective_all_done():
    """When every key result is done the objective is done."""
    key_results = [
        WeightedScore(kr_score(1.0, 1.0, Status.DONE)),
        WeightedScore(kr_score(1.0, 1.0, Status.DONE), weight=2),
    ]
    result = score_objective(CYCLE, key_results, day(4))
    assert result.score == 1.0
    assert result.status is Status.DONE


def test_objective_done_ignores_key_results_without_data():
    """Done needs every key result that has a value to be done; the others do not count."""
    key_results = [
        WeightedScore(kr_score(1.0, 1.0, Status.DONE)),
        WeightedScore(kr_score(None, None, Status.NO_DATA)),
    ]
    result = score_objective(CYCLE, key_results, day(4))
    assert result.status is Status.DONE


def test_objective_not_started():
    """Before the cycle starts the objective is not_started; its score is still computed."""
    key_results = [WeightedScore(kr_score(0.5, 0.5, Status.NOT_STARTED))]
    result = score_objective(CYCLE, key_results, day(-1))
    assert result.status is Status.NOT_STARTED
    assert result.score == 0.5
    no_data = [WeightedScore(kr_score(None, None, Status.NOT_STARTED))]
    assert score_objective(CYCLE, no_data, day(-1)).status is Status.NOT_STARTED


def test_objective_from_scored_key_results():
    """End to end: key results scored by score_key_result roll up into the objective."""
    nps = score_key_result(CYCLE, start=30, target=50, value=40, as_of=day(4))
    churn = score_key_result(CYCLE, start=0.15, target=0.08, value=0.10, as_of=day(4))
    pipeline = score_key_result(CYCLE, start=0, target=100, value=None, as_of=day(4))
    key_results = [
        WeightedScore(nps, weight=2),
        WeightedScore(churn),
        WeightedScore(pipeline, weight=4),
    ]
    result = score_objective(CYCLE, key_results, day(4))
    # score: (0.5 * 2 + 0.71 * 1) / 3 = 1.71 / 3 = 0.57; forecast: (1.0 * 2 + 1.0) / 3 = 1.0
    assert result.score == 0.57
    assert result.forecast_score == 1.0
    assert result.status is Status.ON_TRACK


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan"), float("inf")])
def test_weighted_score_rejects_bad_weight(weight):
    """Weights must be finite and greater than 0."""
    with pytest.raises(ValueError, match="weight"):
        WeightedScore(kr_score(0.5, 0.5, Status.AT_RISK), weight=weight)


def test_objective_key_result_with_score_but_no_forecast_raises():
    """A key result with a score but no forecast score is inconsistent and raises."""
    broken = KeyResultScore(
        value=1.0, progress=0.5, score=0.5, expected=0.5, forecast_score=None, status=Status.AT_RISK
    )
    with pytest.raises(ValueError, match="forecast"):
        score_objective(CYCLE, [WeightedScore(broken)], day(4))
