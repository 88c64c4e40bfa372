"""Property tests for score rounding and summing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from leadq.cli import app
from leadq.engagement import number_text, round_score
from tests.conftest import read_rows, write_csv

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


def test_score_rounding_to_zero_from_below_is_written_without_minus(tmp_path: Path):
    # a lead rule worth -0.004 points: -0.004 rounds to 0.00, and the file must say 0.0,
    # not -0.0, which a spreadsheet filter on "0" or a diff against yesterday would trip on.
    # Two leads, because Polars takes another path for a single row.
    leads = [{"id": "L1", "Unsubscribed": "yes"}, {"id": "L2", "Unsubscribed": "no"}]
    write_csv(tmp_path / "leads.csv", leads)
    (tmp_path / "config.toml").write_text(
        '[inputs]\nleads = "leads.csv"\n[leads]\nid = "id"\n'
        '[[engagement.rules]]\nname = "Tiny penalty"\nsource = "lead"\n'
        'where = [{ field = "Unsubscribed", equals = "yes" }]\npoints = -0.004\n'
        "[mql]\nthreshold = 10\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["score", "--config", str(tmp_path / "config.toml"), "--as-of", "2026-11-30"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    row = read_rows(out / "scored_leads.csv")[0]
    assert row["lead_id"] == "L1"
    assert row["engagement_score"] == "0.0"
    assert row["reasons"] == "Tiny penalty x1 +0"
    assert row["mql_reason"] == "score 0 < 10"
