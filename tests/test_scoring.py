"""Exact-number tests for the scoring rules in :mod:`okrsync.scoring` (design revised 2026-12).

Every expected number is worked out by hand in the comment beside it, never by
calling the code under test.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from okrsync.scoring import (
    AT_RISK_AT,
    MILESTONE_ON_TRACK_UNTIL,
    ON_TRACK_AT,
    TREND_POINTS,
    CheckInPoint,
    CycleDates,
    KeyResultScore,
    Status,
    WeightedScore,
    clamp,
    expected_progress,
    forecast,
    forecast_score,
    ols_slope,
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
    """The status bands start at 0.7 (on track) and 0.4 (at risk); the slope uses 5 points."""
    assert ON_TRACK_AT == 0.7
    assert AT_RISK_AT == 0.4
    assert MILESTONE_ON_TRACK_UNTIL == 0.7
    assert TREND_POINTS == 5


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


# --- the design's worked examples (verbatim) ---------------------------------------------

# "cycle days 0–90": 2026-07-01 is day 0, 2026-09-29 is day 90.
QUARTER = CycleDates(start=date(2026, 7, 1), end=date(2026, 9, 29))


def on_day(n: int) -> date:
    """Return the date of day ``n`` of ``QUARTER``."""
    return QUARTER.start + timedelta(days=n)


def test_worked_example_level():
    """A level at 36 on day 60 after falling check-ins forecasts 30.46875: off track, not on track."""
    check_ins = [
        CheckInPoint(on_day(14), 38),
        CheckInPoint(on_day(28), 41),
        CheckInPoint(on_day(42), 44),
        CheckInPoint(on_day(49), 40),
        CheckInPoint(on_day(56), 37),
    ]
    projected = forecast(QUARTER, 30, 36, on_day(60), check_ins)
    # the last 5 points are (28, 41), (42, 44), (49, 40), (56, 37), (60, 36)
    assert projected.points == ((28, 41), (42, 44), (49, 40), (56, 37), (60, 36))
    # mean x 47, mean y 39.6; Sxx 640, Sxy -118: slope -0.184375
    assert projected.slope == pytest.approx(-0.184375)
    # forecast 36 - 0.184375 * 30 = 30.46875
    assert projected.value == pytest.approx(30.46875)
    result = score_key_result(
        QUARTER, start=30, target=50, value=36, as_of=on_day(60), check_ins=check_ins
    )
    # progress 0.46875 / 20 = 0.0234 -> forecast score 0.02 -> off_track
    assert result.forecast_score == 0.02
    assert result.status is Status.OFF_TRACK
    # the current score: (36 - 30) / 20 = 0.3
    assert result.score == 0.3


def test_worked_example_accumulating_churn():
    """An accumulating churn at 2 % on day 30 forecasts 6 %: on track, not done (it can grow)."""
    result = score_key_result(
        QUARTER, start=0.15, target=0.08, value=0.02, as_of=on_day(30), accumulates=True
    )
    # no check-ins: the line through (0, 0) and (30, 2 %): 2 % * 90 / 30 = 6 %
    assert result.forecast is not None
    assert result.forecast.value == pytest.approx(0.06)
    # progress (0.06 - 0.15) / (0.08 - 0.15) = 1.29 -> 1
    assert result.forecast_score == 1.0
    # today's progress is 1 too ((0.02 - 0.15) / -0.07 = 1.86 -> 1), yet churn can still grow
    assert result.progress == 1.0
    assert result.status is Status.ON_TRACK


# --- the matrix: both natures x both directions x check-ins x before/during/after ----------

# The ten-day CYCLE: D = 9. Natures and directions:
LEVEL_UP = (20, 70, False)  # a level, higher is better: progress = (v - 20) / 50
LEVEL_DOWN = (70, 20, False)  # a level, lower is better: progress = (70 - v) / 50
ACCUMULATES_UP = (0, 100, True)  # e.g. won revenue: progress = v / 100
ACCUMULATES_DOWN = (10, 4, True)  # e.g. churn: progress = (10 - v) / 6

# Check-ins on days 1-5; those on the as-of day (6), after it (8) or before the cycle (-1)
# must never count.
UP_HISTORY = [(1, 30), (2, 40), (3, 50), (4, 48), (5, 44)]
DOWN_HISTORY = [(1, 60), (2, 50), (3, 40), (4, 42), (5, 46)]
GROWING = [(1, 10), (2, 20), (3, 40), (4, 48), (5, 50)]
CHURNING = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 4)]

MATRIX = [
    # (id, nature, as-of day, value, check-ins, forecast value, score, forecast score, status)
    # -- a level, higher is better --
    # before the cycle: the as-of day is capped to 0, one distinct day, slope 0: forecast = v
    ("level-up-before", LEVEL_UP, -2, 25, [], 25, 0.1, 0.1, Status.NOT_STARTED),
    ("level-up-before-ci", LEVEL_UP, -2, 25, [(-5, 60), (-3, 10)], 25, 0.1, 0.1, "not_started"),
    # (0, 20), (3, 35): slope 5; 35 + 5 * 6 = 65 -> 45 / 50 = 0.9
    ("level-up-during", LEVEL_UP, 3, 35, [], 65, 0.3, 0.9, Status.ON_TRACK),
    # last 5: (2, 40), (3, 50), (4, 48), (5, 44), (6, 40); mean x 4, mean y 44.4, Sxx 10,
    # Sxy 8.8 - 5.6 + 0 - 0.4 - 8.8 = -6: slope -0.6; 40 - 0.6 * 3 = 38.2 -> 18.2 / 50 = 0.364
    (
        "level-up-during-ci",
        LEVEL_UP,
        6,
        40,
        [*UP_HISTORY, (6, 99), (8, 0), (-1, 99)],
        38.2,
        0.4,
        0.36,
        Status.OFF_TRACK,
    ),
    # after the end: a = D, forecast = v = 62 -> 42 / 50 = 0.84; not done, so the bands
    ("level-up-after", LEVEL_UP, 12, 62, [], 62, 0.84, 0.84, Status.ON_TRACK),
    # after the end at 75 >= 70: progress 1 and the cycle has ended: done
    ("level-up-after-ci", LEVEL_UP, 12, 75, [*UP_HISTORY, (9, 61)], 75, 1.0, 1.0, Status.DONE),
    # -- a level, lower is better (the mirror image: 90 - each value) --
    ("level-down-before", LEVEL_DOWN, -2, 65, [], 65, 0.1, 0.1, Status.NOT_STARTED),
    ("level-down-before-ci", LEVEL_DOWN, -2, 65, [(-5, 30), (-3, 80)], 65, 0.1, 0.1, "not_started"),
    # (0, 70), (3, 55): slope -5; 55 - 30 = 25 -> (70 - 25) / 50 = 0.9
    ("level-down-during", LEVEL_DOWN, 3, 55, [], 25, 0.3, 0.9, Status.ON_TRACK),
    # slope +0.6 (the mirror of -0.6); 50 + 1.8 = 51.8 -> (70 - 51.8) / 50 = 0.364
    (
        "level-down-during-ci",
        LEVEL_DOWN,
        6,
        50,
        [*DOWN_HISTORY, (6, -9), (8, 90), (-1, -9)],
        51.8,
        0.4,
        0.36,
        Status.OFF_TRACK,
    ),
    ("level-down-after", LEVEL_DOWN, 12, 28, [], 28, 0.84, 0.84, Status.ON_TRACK),
    ("level-down-after-ci", LEVEL_DOWN, 12, 15, [*DOWN_HISTORY, (9, 29)], 15, 1.0, 1.0, "done"),
    # -- accumulates, higher is better (origin (0, 0)) --
    ("acc-up-before", ACCUMULATES_UP, -2, 0, [], 0, 0.0, 0.0, Status.NOT_STARTED),
    ("acc-up-before-ci", ACCUMULATES_UP, -2, 0, [(-3, 7)], 0, 0.0, 0.0, Status.NOT_STARTED),
    # (0, 0), (3, 30): slope 10; 30 + 60 = 90 -> 0.9 (its run rate: 30 * 9 / 3)
    ("acc-up-during", ACCUMULATES_UP, 3, 30, [], 90, 0.3, 0.9, Status.ON_TRACK),
    # last 5: (2, 20), (3, 40), (4, 48), (5, 50), (6, 52); mean y 42;
    # Sxy 44 + 2 + 0 + 8 + 20 = 74: slope 7.4; 52 + 7.4 * 3 = 74.2 -> 0.742 -> 0.74
    (
        "acc-up-during-ci",
        ACCUMULATES_UP,
        6,
        52,
        [*GROWING, (6, 0), (8, 100)],
        74.2,
        0.52,
        0.74,
        Status.ON_TRACK,
    ),
    ("acc-up-after", ACCUMULATES_UP, 12, 80, [], 80, 0.8, 0.8, Status.ON_TRACK),
    ("acc-up-after-ci", ACCUMULATES_UP, 12, 100, [*GROWING, (9, 99)], 100, 1.0, 1.0, "done"),
    # -- accumulates, lower is better (a churn: 0 at the start, can only grow) --
    # before: 0 churned is progress (10 - 0) / 6 -> 1, yet not started
    ("acc-down-before", ACCUMULATES_DOWN, -2, 0, [], 0, 1.0, 1.0, Status.NOT_STARTED),
    ("acc-down-before-ci", ACCUMULATES_DOWN, -2, 0, [(-3, 9)], 0, 1.0, 1.0, "not_started"),
    # (0, 0), (3, 1): slope 1/3; 1 + 6/3 = 3 -> 7/6 -> 1: on track, NOT done
    ("acc-down-during", ACCUMULATES_DOWN, 3, 1, [], 3, 1.0, 1.0, Status.ON_TRACK),
    # last 5: (2, 2), (3, 3), (4, 4), (5, 4), (6, 5); mean y 3.6;
    # Sxy 3.2 + 0.6 + 0 + 0.4 + 2.8 = 7: slope 0.7; 5 + 2.1 = 7.1 -> 2.9 / 6 = 0.483 -> 0.48;
    # today's progress 5 / 6 = 0.83
    (
        "acc-down-during-ci",
        ACCUMULATES_DOWN,
        6,
        5,
        [*CHURNING, (6, 0), (8, 9)],
        7.1,
        0.83,
        0.48,
        Status.AT_RISK,
    ),
    # after: 6 churned -> 4 / 6 = 0.67
    ("acc-down-after", ACCUMULATES_DOWN, 12, 6, [], 6, 0.67, 0.67, Status.AT_RISK),
    # after at 4 (the target): progress 1 and the cycle has ended: done
    ("acc-down-after-ci", ACCUMULATES_DOWN, 12, 4, [*CHURNING, (9, 4)], 4, 1.0, 1.0, "done"),
]


@pytest.mark.parametrize(
    ("nature", "as_of", "value", "history", "forecast_value", "score", "forecast_sc", "status"),
    [pytest.param(*case[1:], id=case[0]) for case in MATRIX],
)
def test_matrix(  # noqa: PLR0917  (one argument per column of MATRIX)
    nature, as_of, value, history, forecast_value, score, forecast_sc, status
):
    """Each nature and direction, with and without check-ins, before, during and after the cycle."""
    start, target, accumulates = nature
    result = score_key_result(
        CYCLE,
        start=start,
        target=target,
        value=value,
        as_of=day(as_of),
        check_ins=[CheckInPoint(day(n), v) for n, v in history],
        accumulates=accumulates,
    )
    assert result.forecast is not None
    assert result.forecast.value == pytest.approx(forecast_value)
    assert result.score == score
    assert result.forecast_score == forecast_sc
    assert result.status == status


@pytest.mark.parametrize(
    ("nature", "value", "status"),
    [
        # at the target on day 3: (0, 20), (3, 70) -> 70 + 50 / 3 * 6 = 170 -> 1: on track
        pytest.param(LEVEL_UP, 70, Status.ON_TRACK, id="level-up"),
        pytest.param(LEVEL_DOWN, 20, Status.ON_TRACK, id="level-down"),
        # won revenue at its target can only grow: done
        pytest.param(ACCUMULATES_UP, 100, Status.DONE, id="accumulates-up"),
        # churn at 0 can still grow: on track (forecast 0 -> progress 1)
        pytest.param(ACCUMULATES_DOWN, 0, Status.ON_TRACK, id="accumulates-down"),
    ],
)
def test_progress_one_mid_cycle_is_done_only_where_it_cannot_be_lost(nature, value, status):
    """Progress 1 on day 3 is done only for a metric that accumulates towards a higher target."""
    start, target, accumulates = nature
    result = score_key_result(
        CYCLE, start=start, target=target, value=value, as_of=day(3), accumulates=accumulates
    )
    assert result.progress == 1.0
    assert result.status is status


def test_level_at_target_with_a_falling_trend_is_at_risk():
    """A level at its target but falling fast is at risk, not done."""
    # NPS 20 -> 70 at 70 on day 6; check-ins (3, 100), (4, 90), (5, 80):
    # last 5: (0, 20), (3, 100), (4, 90), (5, 80), (6, 70); mean x 3.6, mean y 72;
    # dx -3.6, -0.6, 0.4, 1.4, 2.4; dy -52, 28, 18, 8, -2
    # Sxx 12.96 + 0.36 + 0.16 + 1.96 + 5.76 = 21.2
    # Sxy 187.2 - 16.8 + 7.2 + 11.2 - 4.8 = 184 -> slope 8.68 (the origin still dominates)
    check_ins = [CheckInPoint(day(3), 100), CheckInPoint(day(4), 90), CheckInPoint(day(5), 80)]
    rising = score_key_result(
        CYCLE, start=20, target=70, value=70, as_of=day(6), check_ins=check_ins
    )
    assert rising.status is Status.ON_TRACK
    # with one more check-in (2, 100) the origin drops out of the last 5:
    # (2, 100), (3, 100), (4, 90), (5, 80), (6, 70); mean x 4, mean y 88;
    # Sxy (-2)(12) + (-1)(12) + 0 + (1)(-8) + (2)(-18) = -80, Sxx 10 -> slope -8
    # forecast 70 - 8 * 3 = 46 -> 26 / 50 = 0.52: at risk
    falling = score_key_result(
        CYCLE,
        start=20,
        target=70,
        value=70,
        as_of=day(6),
        check_ins=[CheckInPoint(day(2), 100), *check_ins],
    )
    assert falling.forecast is not None
    assert falling.forecast.slope == pytest.approx(-8)
    assert falling.forecast.value == pytest.approx(46)
    assert falling.score == 1.0
    assert falling.forecast_score == 0.52
    assert falling.status is Status.AT_RISK


def test_collapse_two_days_before_the_end_is_off_track():
    """The design's motivating case: a score of 0.00 two days before the end is off track."""
    # won revenue (accumulating) 0 -> 100; a big deal was reversed: check-ins 60, 80, 90, 95
    # on days 2-5, value 0 on day 7 (D = 9): forecast 0 + b * 2 with b from
    # (2, 60), (3, 80), (4, 90), (5, 95), (7, 0): mean x 4.2, mean y 65;
    # dx -2.2, -1.2, -0.2, 0.8, 2.8; dy -5, 15, 25, 30, -65
    # Sxy 11 - 18 - 5 + 24 - 182 = -170; Sxx 4.84 + 1.44 + 0.04 + 0.64 + 7.84 = 14.8
    # slope -11.49 -> forecast -22.97 -> progress 0 -> off track
    check_ins = [CheckInPoint(day(n), v) for n, v in ((2, 60), (3, 80), (4, 90), (5, 95))]
    result = score_key_result(
        CYCLE,
        start=0,
        target=100,
        value=0,
        as_of=day(7),
        check_ins=check_ins,
        accumulates=True,
    )
    assert result.forecast is not None
    assert result.forecast.slope == pytest.approx(-170 / 14.8)
    assert result.score == 0.0
    assert result.forecast_score == 0.0
    assert result.status is Status.OFF_TRACK


# --- forecast details --------------------------------------------------------------------


def test_forecast_without_check_ins_is_the_line_through_origin_and_today():
    """Without check-ins a level goes start + (v - start) * D / a; an accumulating metric v * D / a."""
    # a level: 20 + (35 - 20) times 9 / 3 is 65
    assert forecast(CYCLE, 20, 35, day(3)).value == pytest.approx(65)
    # accumulating: 30 * 9 / 3 = 90 (the start, 20, plays no part)
    assert forecast(CYCLE, 20, 30, day(3), accumulates=True).value == pytest.approx(90)


def test_forecast_on_day_zero_is_the_value():
    """On the cycle's first day without check-ins the forecast is today's value."""
    # points (0, 20) and (0, 35): one distinct day, slope 0
    projected = forecast(CYCLE, 20, 35, day(0))
    assert projected.slope == 0
    assert projected.value == 35
    assert forecast_score(CYCLE, 20, 70, 35, day(0)) == 0.3  # 15 / 50


def test_forecast_keeps_the_last_five_points():
    """Only the five most recent points count: the origin and old check-ins drop out."""
    # check-ins 1..5 at 10 per day then today (6, 60): last 5 (2..6), all on the line
    # y = 10 x: slope 10; forecast 60 + 10 * 3 = 90
    check_ins = [CheckInPoint(day(n), 10 * n) for n in range(1, 6)]
    projected = forecast(CYCLE, 0, 60, day(6), check_ins)
    assert projected.points == ((2, 20), (3, 30), (4, 40), (5, 50), (6, 60))
    assert projected.slope == pytest.approx(10)
    assert projected.value == pytest.approx(90)
    # a wild old check-in (day 1) changes nothing once it is not among the last 5
    wild = [CheckInPoint(day(1), -1000), *check_ins[1:]]
    assert forecast(CYCLE, 0, 60, day(6), wild) == projected


def test_forecast_ignores_check_ins_without_value_or_outside_the_cycle():
    """Check-ins without a value, before the cycle or after it do not count."""
    # only (3, 40) counts: points (0, 20), (3, 40), (6, 50); mean x 3, mean y 36.67;
    # Sxy (-3)(-16.67) + 0 + (3)(13.33) = 90, Sxx 18 -> slope 5; 50 + 15 = 65
    check_ins = [
        CheckInPoint(day(-1), 99),
        CheckInPoint(day(2), None),
        CheckInPoint(day(3), 40),
        CheckInPoint(day(11), 0),
    ]
    projected = forecast(CYCLE, 20, 50, day(6), check_ins)
    assert projected.points == ((0, 20), (3, 40), (6, 50))
    assert projected.value == pytest.approx(65)


def test_forecast_after_the_end_is_the_value():
    """After the cycle's last day the forecast is today's value whatever the trend."""
    check_ins = [CheckInPoint(day(n), 10 * n) for n in range(1, 8)]
    projected = forecast(CYCLE, 0, 33, day(15), check_ins)
    assert projected.as_of_day == END_DAY
    assert projected.value == 33


def test_forecast_score_milestone_rule():
    """A milestone's forecast score is 1 when the forecast reaches the target, else 0."""
    # (0, 0), (3, 4): slope 4/3; 4 + 4/3 * 6 = 12 >= 10 -> 1
    assert forecast_score(CYCLE, 0, 10, 4, day(3), milestone=True) == 1.0
    # (0, 0), (3, 3): slope 1; 3 + 6 = 9 < 10 -> 0
    assert forecast_score(CYCLE, 0, 10, 3, day(3), milestone=True) == 0.0


def test_forecast_score_is_clamped():
    """A forecast beyond the target gives 1, one behind the start gives 0."""
    # (0, 0), (3, 50): 50 + 100 = 150 -> 1.5 -> 1
    assert forecast_score(CYCLE, 0, 100, 50, day(3)) == 1.0
    # (0, 0), (3, -10): -10 - 20 = -30 -> 0
    assert forecast_score(CYCLE, 0, 100, -10, day(3)) == 0.0


def test_forecast_rejects_bad_numbers():
    """Non-finite numbers and a start equal to the target raise ValueError."""
    with pytest.raises(ValueError, match="must differ"):
        forecast_score(CYCLE, 5, 5, 5, day(3))
    with pytest.raises(ValueError, match="finite"):
        forecast(CYCLE, 0, float("nan"), day(3))


def test_ols_slope():
    """The slope is the least-squares one, and 0 without two distinct days."""
    # (0, 0), (1, 10), (2, 25), (3, 30): mean x 1.5, mean y 16.25, Sxx 5, Sxy 52.5 -> 10.5
    assert ols_slope([(0, 0), (1, 10), (2, 25), (3, 30)]) == pytest.approx(10.5)
    assert ols_slope([(4, 1), (4, 9)]) == 0
    assert ols_slope([(4, 1)]) == 0
    assert ols_slope([]) == 0


# --- milestones: judged by the time left --------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "value", "status"),
    [
        (-1, 0, Status.NOT_STARTED),
        (0, 0, Status.ON_TRACK),  # expected 1 / 10 = 0.1
        (6, 0, Status.ON_TRACK),  # expected 7 / 10 = 0.7: still on track
        (7, 0, Status.AT_RISK),  # expected 8 / 10 = 0.8
        (9, 0, Status.AT_RISK),  # the last day: 1.0, not yet ended
        (10, 0, Status.OFF_TRACK),  # the cycle has ended
        (2, 1, Status.DONE),  # reached: done at once
        (10, 1, Status.DONE),
    ],
)
def test_milestone_status_by_time_left(as_of, value, status):
    """A milestone not reached is on track while expected <= 0.7, at risk after, off track once ended."""
    result = score_key_result(
        CYCLE, start=0, target=1, value=value, as_of=day(as_of), milestone=True
    )
    assert result.status is status


def test_milestone_status_ignores_its_forecast():
    """A milestone's status follows the time left even when its forecast says it will be reached."""
    # 0 -> 10 at 9 on day 8: (0, 0), (8, 9): slope 9/8; 9 + 9/8 = 10.125 >= 10 -> forecast
    # score 1; with expected 0.9 it is at risk all the same
    result = score_key_result(CYCLE, start=0, target=10, value=9, as_of=day(8), milestone=True)
    assert result.forecast_score == 1.0
    assert result.status is Status.AT_RISK


# --- status_from ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forecast_sc", "expected"),
    [
        (1.0, Status.ON_TRACK),
        (0.7, Status.ON_TRACK),
        (0.69, Status.AT_RISK),
        (0.4, Status.AT_RISK),
        (0.39, Status.OFF_TRACK),
        (0.0, Status.OFF_TRACK),
    ],
)
def test_status_bands(forecast_sc, expected):
    """The forecast score picks the band: >= 0.7 on track, >= 0.4 at risk, else off."""
    assert status_from(0.5, forecast_sc, started=True) is expected


def test_status_done_only_where_progress_cannot_be_lost():
    """Progress 1 is done for a milestone, a key result that cannot lose it, or after the end."""
    assert status_from(1.0, 0.2, started=True) is Status.OFF_TRACK
    assert status_from(1.0, 0.2, started=True, can_be_lost=False) is Status.DONE
    assert status_from(1.0, 0.2, started=True, milestone=True) is Status.DONE
    assert status_from(1.0, 0.2, started=True, ended=True) is Status.DONE
    assert status_from(0.99, 1.0, started=True, ended=True) is Status.ON_TRACK


def test_status_not_started_and_no_data_first():
    """Before the cycle the status is not_started whatever the data; without progress no_data."""
    assert status_from(1.0, 1.0, started=False) is Status.NOT_STARTED
    assert status_from(None, None, started=False) is Status.NOT_STARTED
    assert status_from(None, None, started=True) is Status.NO_DATA


def test_status_progress_without_forecast_raises():
    """Progress below 1 without a forecast score is inconsistent and raises."""
    with pytest.raises(ValueError, match="forecast"):
        status_from(0.5, None, started=True)


# --- key result: the rest ----------------------------------------------------------------


def test_score_key_result_no_data():
    """Without a value, progress, score and forecast are None and the status is no_data."""
    result = score_key_result(CYCLE, start=0, target=100, value=None, as_of=day(4))
    assert result == KeyResultScore(
        value=None,
        progress=None,
        score=None,
        expected=0.5,  # still computed: 5 / 10
        forecast_score=None,
        status=Status.NO_DATA,
    )


def test_score_key_result_not_started_without_data():
    """not_started takes precedence over no_data."""
    result = score_key_result(CYCLE, start=0, target=100, value=None, as_of=day(-1))
    assert result.status is Status.NOT_STARTED
    assert result.expected == 0.0


def test_score_key_result_zero_length_cycle():
    """A one-day cycle: expected 1 on its day, the forecast is the value."""
    one_day = CycleDates(date(2025, 1, 1), date(2025, 1, 1))
    result = score_key_result(one_day, start=0, target=100, value=50, as_of=date(2025, 1, 1))
    assert result.expected == 1.0
    assert result.forecast_score == 0.5
    assert result.status is Status.AT_RISK


def test_score_key_result_start_equal_to_target_raises():
    """A start equal to the target raises for a non-milestone, even without a value."""
    with pytest.raises(ValueError, match="must differ"):
        score_key_result(CYCLE, start=3, target=3, value=None, as_of=day(4))
    with pytest.raises(ValueError, match="must differ"):
        score_key_result(CYCLE, start=3, target=3, value=4, as_of=day(4))


# --- properties ----------------------------------------------------------------------------

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
days = st.integers(min_value=-5, max_value=15)
histories = st.lists(st.tuples(days, values), max_size=8)


def _check_ins(history: list[tuple[int, float]]) -> list[CheckInPoint]:
    return [CheckInPoint(day(n), v) for n, v in history]


@settings(max_examples=200, deadline=None)
@given(start=values, value=values, as_of=st.integers(9, 40), history=histories, acc=st.booleans())
def test_forecast_is_the_value_on_and_after_the_last_day(start, value, as_of, history, acc):
    """On or after the cycle's last day the forecast is today's value, whatever came before."""
    projected = forecast(CYCLE, start, value, day(as_of), _check_ins(history), accumulates=acc)
    assert projected.value == value


@settings(max_examples=200, deadline=None)
@given(
    start=values,
    target=values,
    value=values,
    as_of=st.integers(-5, END_DAY),
    history=histories,
)
def test_a_level_is_never_done_before_the_end(start, target, value, as_of, history):
    """A level key result is never done on or before the cycle's last day."""
    assume(abs(target - start) > 1e-3)
    result = score_key_result(
        CYCLE,
        start=start,
        target=target,
        value=value,
        as_of=day(as_of),
        check_ins=_check_ins(history),
    )
    assert result.status is not Status.DONE


@settings(max_examples=200, deadline=None)
@given(
    start=values,
    value=values,
    drop=st.floats(min_value=1e-3, max_value=1e6),
    as_of=st.integers(-5, END_DAY),
    history=histories,
)
def test_a_growing_churn_is_never_done_before_the_end(start, value, drop, as_of, history):
    """An accumulating key result whose target is below its start is never done before the end."""
    result = score_key_result(
        CYCLE,
        start=start,
        target=start - drop,
        value=value,
        as_of=day(as_of),
        check_ins=_check_ins(history),
        accumulates=True,
    )
    assert result.status is not Status.DONE


@settings(max_examples=200, deadline=None)
@given(
    start=values,
    target=values,
    value=values,
    as_of=days,
    history=histories,
    same_day=st.lists(values, max_size=3),
    later=st.lists(st.tuples(st.integers(0, 20), values), max_size=3),
    acc=st.booleans(),
)
def test_check_ins_from_the_as_of_day_on_change_nothing(  # noqa: PLR0917  (hypothesis arguments)
    start, target, value, as_of, history, same_day, later, acc
):
    """A check-in dated on or after the as-of day (today's own, a re-run's) never moves the score."""
    assume(abs(target - start) > 1e-3)
    before = [(n, v) for n, v in history if n < as_of]
    extra = [(as_of, v) for v in same_day] + [(as_of + n, v) for n, v in later]
    kwargs = {"start": start, "target": target, "value": value, "as_of": day(as_of)}
    alone = score_key_result(CYCLE, check_ins=_check_ins(before), accumulates=acc, **kwargs)
    more = score_key_result(CYCLE, check_ins=_check_ins(before + extra), accumulates=acc, **kwargs)
    assert more == alone


@settings(max_examples=200, deadline=None)
@given(start=values, value=values, as_of=st.integers(1, END_DAY), acc=st.booleans())
def test_without_check_ins_the_forecast_extends_the_line_from_the_origin(start, value, as_of, acc):
    """Without check-ins the forecast is the line through the origin and today, at the last day."""
    origin = 0.0 if acc else start
    projected = forecast(CYCLE, start, value, day(as_of), accumulates=acc)
    expected = origin + (value - origin) * END_DAY / as_of
    assert projected.value == pytest.approx(expected, rel=1e-9, abs=1e-6)


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
