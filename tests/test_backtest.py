"""Backtest: one read of the inputs, scores equal to separate `score --as-of` runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from leadq import activity_scoring, scoring
from leadq.backtest import as_of_dates, backtest, parse_every
from leadq.cli import app
from leadq.config import load_config, parse_config
from leadq.errors import ConfigError
from leadq.scoring import score_leads
from tests.conftest import write_csv

B2B_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "b2b.toml"
runner = CliRunner()


def test_twelve_weeks_match_separate_score_runs(monkeypatch: pytest.MonkeyPatch):
    config = load_config(B2B_CONFIG)
    dates = as_of_dates(dt.date(2026, 9, 14), dt.date(2026, 11, 30), 7)
    assert len(dates) == 12

    reads: list[int] = []
    real_reader = activity_scoring.score_activity_files

    def counting_reader(*args, **kwargs):
        reads.append(1)
        return real_reader(*args, **kwargs)

    monkeypatch.setattr(scoring, "score_activity_files", counting_reader)
    result = backtest(config, dates)
    assert len(reads) == 1, "the backtest must read the activity files once for all dates"
    monkeypatch.undo()

    previous_mqls: set[str] | None = None
    for day in dates:
        expected = score_leads(config, as_of=day).scored_leads
        expected = expected.select("lead_id", "fit", "engagement_score", "mql")
        got = result.leads.filter(pl.col("as_of") == day).drop("as_of")
        assert_frame_equal(got, expected)

        mqls = set(expected.filter(pl.col("mql")).get_column("lead_id"))
        period = result.periods.filter(pl.col("as_of") == day).row(0, named=True)
        assert period["mqls"] == len(mqls)
        new = None if previous_mqls is None else len(mqls - previous_mqls)
        assert period["new_mqls"] == new
        previous_mqls = mqls


def test_backtest_follows_up_new_mqls(tmp_path: Path):
    write_csv(tmp_path / "leads.csv", [{"id": "L1"}, {"id": "L2"}, {"id": "L3"}])
    write_csv(
        tmp_path / "activities.csv",
        [
            {"lead": "L1", "type": "demo", "at": "2026-01-02"},
            {"lead": "L2", "type": "demo", "at": "2026-01-09"},
            {"lead": "L3", "type": "demo", "at": "2026-01-09"},
        ],
    )
    # L2 is won after it became an MQL on 2026-01-10; L3 was won before that day
    write_csv(
        tmp_path / "won.csv",
        [{"lead": "L2", "date": "2026-02-01"}, {"lead": "L3", "date": "2026-01-05"}],
    )
    raw = {
        "inputs": {"leads": str(tmp_path / "leads.csv")}
        | {"activities": str(tmp_path / "activities.csv")},
        "leads": {"id": "id"},
        "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
        "engagement": {"lookback_days": 30, "rules": [{"name": "Demo", "type": "demo"}]},
        "mql": {"threshold": 10},
        "outcomes": {"file": str(tmp_path / "won.csv"), "lead_id": "lead"}
        | {"each_row": "won", "date": "date"},
    }
    raw["engagement"]["rules"][0]["points"] = 10
    dates = as_of_dates(dt.date(2026, 1, 3), dt.date(2026, 1, 10), 7)
    periods = backtest(parse_config(raw), dates).periods
    second = periods.row(1, named=True)
    assert second["mqls"] == 3
    # L2 and L3 are new on 2026-01-10; only L2 converts after that day
    assert second["new_mqls"] == 2
    assert second["new_mqls_converted"] == 1
    assert second["new_mql_conversion"] == pytest.approx(0.5)


@pytest.mark.parametrize(("text", "days"), [("7d", 7), ("2w", 14), (" 1D ", 1)])
def test_every_accepts_days_and_weeks(text: str, days: int):
    assert parse_every(text) == days


@pytest.mark.parametrize("text", ["0d", "weekly", "7", "-1d"])
def test_every_rejects_other_text(text: str):
    with pytest.raises(ConfigError, match="--every"):
        parse_every(text)


def test_dates_include_end_only_on_a_step():
    dates = as_of_dates(dt.date(2026, 1, 1), dt.date(2026, 1, 20), 7)
    assert dates == [dt.date(2026, 1, 1), dt.date(2026, 1, 8), dt.date(2026, 1, 15)]
    with pytest.raises(ConfigError, match="before --from"):
        as_of_dates(dt.date(2026, 1, 2), dt.date(2026, 1, 1), 7)


def test_backtest_cli_writes_csv_and_markdown(tmp_path: Path):
    out = tmp_path / "bt"
    args = ["backtest", "-c", str(B2B_CONFIG), "--from", "2026-11-16", "--to", "2026-11-30"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pl.read_csv(out / "backtest.csv")
    assert written.get_column("as_of").to_list() == ["2026-11-16", "2026-11-23", "2026-11-30"]
    assert "| as of |" in (out / "backtest.md").read_text(encoding="utf-8")
