"""The ledger: its rows reconcile with every lead's score, and `score --ledger` writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from leadq.cli import app
from leadq.engagement import ENGAGEMENT_TOTAL, LEAD_ID, round_score
from tests.strategies import activity_rows, engagement_section, lead_views, score_random

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engagement=engagement_section(), activities=activity_rows(), views=lead_views)
def test_ledger_adds_up_to_every_score(
    engagement: dict[str, Any], activities: list[dict[str, str]], views: list[int]
):
    result = score_random(engagement, activities, views)
    ledger = result.ledger()
    sums = ledger.group_by(LEAD_ID).agg(pl.col("points_earned").sum().alias("ledger_sum"))
    leads = (
        result.leads.select(LEAD_ID, ENGAGEMENT_TOTAL, "engagement_score")
        .join(sums, on=LEAD_ID, how="left")
        .with_columns(pl.col("ledger_sum").fill_null(0.0))
        .with_columns(round_score(pl.col("ledger_sum")).alias("ledger_score"))
    )
    for row in leads.iter_rows(named=True):
        assert abs(row["ledger_sum"] - row[ENGAGEMENT_TOTAL]) <= 1e-9, row
        assert row["ledger_score"] == row["engagement_score"], row

    # caps only take positive points, never more than a row had, and never add any
    negative = ledger.filter(pl.col("decayed_points") < 0, pl.col("cut_reason") == "")
    assert (negative["points_earned"] == negative["decayed_points"]).all()
    positive = ledger.filter(pl.col("decayed_points") >= 0)
    assert (positive["points_earned"] >= 0).all()
    assert (positive["points_earned"] <= positive["decayed_points"]).all()
    assert ledger.filter(~pl.col("counted"))["points_earned"].abs().max() in (None, 0.0)


def test_score_ledger_flag_writes_ledger(tmp_path: Path):
    out = tmp_path / "out"
    args = ["score", "--config", str(ROOT / "configs" / "b2b.toml"), "--as-of", "2026-11-30"]
    result = runner.invoke(app, [*args, "--out", str(out), "--ledger", "-q"])
    assert result.exit_code == 0, result.output
    ledger = pl.read_csv(out / "ledger.csv", schema_overrides={"cut_reason": pl.String})
    assert ledger.columns == [
        "lead_id",
        "rule",
        "group",
        "activity_time",
        "file",
        "line",
        "rule_points",
        "decay_factor",
        "decayed_points",
        "points_earned",
        "counted",
        "cut_reason",
    ]
    scored = pl.read_csv(out / "scored_leads.csv")
    sums = ledger.group_by("lead_id").agg(pl.col("points_earned").sum().alias("ledger_sum"))
    joined = scored.join(sums, on="lead_id", how="left").with_columns(
        round_score(pl.col("ledger_sum").fill_null(0.0)).alias("ledger_score")
    )
    assert (joined["ledger_score"] == joined["engagement_score"]).all()
    # L-000200: a webinar at the end of the as-of day in Berlin, and a pricing visit at the
    # start of the first day of the window
    rows = ledger.filter(pl.col("lead_id") == "L-000200")
    assert rows["activity_time"].to_list() == ["2026-11-30 23:59:59", "2026-09-02 00:00:00"]
    assert rows["file"].to_list() == [
        "../sample_data/b2b/activities/webinars.csv",
        "../sample_data/b2b/activities/web.csv",
    ]
    assert rows["line"].to_list() == [247, 1091]


def test_score_without_ledger_flag_writes_none(tmp_path: Path):
    out = tmp_path / "out"
    args = ["score", "--config", str(ROOT / "configs" / "b2b.toml"), "--as-of", "2026-11-30"]
    assert runner.invoke(app, [*args, "--out", str(out), "--ledger", "-q"]).exit_code == 0
    # the folder with the previous ledger is leadq's own, so it is replaced without it
    result = runner.invoke(app, [*args, "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert not (out / "ledger.csv").exists()


def test_ledger_in_every_format(tmp_path: Path):
    args = ["score", "--config", str(ROOT / "configs" / "b2c.toml"), "--as-of", "2026-11-30"]
    for fmt in ("xlsx", "parquet", "jsonl"):
        out = tmp_path / fmt
        result = runner.invoke(app, [*args, "--out", str(out), "--ledger", "--format", fmt, "-q"])
        assert result.exit_code == 0, result.output
        assert (out / f"ledger.{fmt}").stat().st_size > 0
    ledger = pl.read_parquet(tmp_path / "parquet" / "ledger.parquet")
    assert ledger.schema["activity_time"] == pl.String
    assert ledger.schema["points_earned"] == pl.Float64
