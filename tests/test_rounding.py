"""Property tests for score rounding and summing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from leadq.engagement import number_text, round_score

cents = st.integers(min_value=-10_000_000, max_value=10_000_000)


@given(cents=cents, half=st.booleans())
def test_round_half_away_from_zero(cents: int, half: bool):
    # a value given to three decimals, ending in 5 when `half` is set
    thousandths = cents * 10 + (5 if half else 3)
    text = str(Decimal(thousandths) / 1000)
    expected = float(Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    frame = pl.DataFrame({"score": [float(text)]})
    assert frame.select(round_score(pl.col("score"))).item() == expected


@given(values=st.lists(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=50))
def test_sum_of_whole_points_is_exact(values: list[int]):
    frame = pl.DataFrame({"points": [float(v) for v in values]})
    assert frame.select(round_score(pl.col("points").sum())).item() == sum(values)


@given(cents=cents)
def test_number_text_round_trips(cents: int):
    value = cents / 100
    frame = pl.DataFrame({"score": [value]})
    text = frame.select(number_text(pl.col("score"))).item()
    assert float(text) == value
    assert not text.endswith(".0")
