"""Progress bars take their colour from the scoring bands, the same ones statuses use."""

from __future__ import annotations

import pytest

from okrsync.render import bar
from okrsync.scoring import AT_RISK_AT, ON_TRACK_AT


@pytest.mark.parametrize(
    ("progress", "colour"),
    [
        (1.0, "green"),
        (ON_TRACK_AT, "green"),
        (ON_TRACK_AT - 0.01, "yellow"),
        (AT_RISK_AT, "yellow"),
        (AT_RISK_AT - 0.01, "red"),
        (0.0, "red"),
    ],
)
def test_bar_colour_follows_the_scoring_bands(progress: float, colour: str) -> None:
    """A bar is green from the on-track band, yellow from the at-risk band, red below."""
    assert bar(progress).style == colour
