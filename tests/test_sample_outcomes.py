"""The shipped B2B outcomes: calibrate, backtest and explain on them, counted again with `csv`.

The expected counts come from sample_data/b2b/outcomes.csv and leads.csv read with the `csv`
module, so they do not depend on how leadq reads, dates or matches the outcome rows.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from leadq.backtest import backtest
from leadq.calibration import calibrate
from leadq.cli import app
from leadq.config import load_config
from leadq.scoring import score_leads
from tests.conftest import read_rows

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "b2b.toml"
SAMPLE = ROOT / "sample_data" / "b2b"
CUT_OFF = dt.date(2026, 11, 30)
# The values of configs/b2b.toml [outcomes] that mean SQL or a later stage, compared trimmed
# and lower-cased as leadq compares them.
CONVERTED_STATUSES = {"sales qualified", "opportunity", "closed won"}
runner = CliRunner()


def lead_ids() -> set[str]:
    return {row["Record ID"] for row in read_rows(SAMPLE / "leads.csv") if row["Record ID"]}


def conversion_days() -> dict[str, list[dt.date]]:
    """Return the days each known lead reached SQL or a later stage, from dated rows only."""
    known = lead_ids()
    days: dict[str, list[dt.date]] = {}
    for row in read_rows(SAMPLE / "outcomes.csv"):
        dated = row["Changed At"].strip() != ""
        converting = row["Status"].strip().lower() in CONVERTED_STATUSES
        if row["Record ID"] in known and dated and converting:
            day = dt.date.fromisoformat(row["Changed At"][:10])
            days.setdefault(row["Record ID"], []).append(day)
    return days


def split_at(cut_off: dt.date) -> tuple[set[str], set[str]]:
    """Return the leads converted on or before `cut_off`, and those converted only after it."""
    days = conversion_days()
    before = {lead for lead, dates in days.items() if min(dates) <= cut_off}
    after = {lead for lead, dates in days.items() if max(dates) > cut_off} - before
    return before, after


def mql_ids(as_of: dt.date) -> set[str]:
    scored = score_leads(load_config(CONFIG), as_of=as_of).scored_leads
    return set(scored.filter(pl.col("mql")).get_column("lead_id"))


@pytest.fixture(scope="module")
def report() -> dict:
    return calibrate(load_config(CONFIG), as_of=CUT_OFF).report


def test_sample_outcome_rows_counted(report: dict):
    rows = read_rows(SAMPLE / "outcomes.csv")
    known = lead_ids()
    outcomes = report["outcomes"]
    assert outcomes["rows_read"] == len(rows)
    # the hand-made rows: L-009990 is no lead, and L-000087's Opportunity row has no date
    assert (
        outcomes["rows_matching_no_lead"] == sum(row["Record ID"] not in known for row in rows) == 1
    )
    assert outcomes["rows_undated"] == sum(row["Changed At"] == "" for row in rows) == 1


def test_sample_conversion_counts(report: dict):
    before, after = split_at(CUT_OFF)
    mqls = mql_ids(CUT_OFF) - before
    outcomes = report["outcomes"]
    assert outcomes["leads_converted_before_cut_off"] == len(before) == 13
    assert outcomes["leads_evaluated"] == len(lead_ids()) - len(before) == 387
    assert outcomes["leads_converted"] == len(after) == 96
    assert report["mql"]["mql"]["leads"] == len(mqls)
    assert report["mql"]["mql"]["converted"] == len(mqls & after)
    assert report["mql"]["not_mql"]["converted"] == len(after - mqls)


def test_sample_won_counts_odd_case_status(report: dict):
    before, _ = split_at(CUT_OFF)
    won = {
        row["Record ID"]
        for row in read_rows(SAMPLE / "outcomes.csv")
        if row["Status"].strip().lower() == "closed won"
        and row["Changed At"]
        and dt.date.fromisoformat(row["Changed At"][:10]) > CUT_OFF
    } - before
    # L-000012, an MQL through its demo request, is won as " closed won " on 2026-12-30
    assert "L-000012" in won
    mqls = mql_ids(CUT_OFF)
    assert "L-000012" in mqls
    stages = {row["stage"]: row for row in report["stages"]}
    assert stages["won"]["mql"] == len(won & mqls)
    assert stages["won"]["not_mql"] == len(won - mqls)


def test_sample_has_enough_data_for_suggestions(report: dict):
    assert report["enough_data"] is True
    rules = {row["name"]: row for row in report["rules"]}
    for rule in rules.values():
        assert isinstance(rule["suggested_points"], float), rule["name"]
    # content downloads carry no weight in sample_data/generate.py, while demo requests do
    assert rules["Content download"]["suggested_points"] < 5
    assert rules["Demo request"]["suggested_points"] > rules["Content download"]["suggested_points"]


def test_sample_calibrate_cli(tmp_path: Path):
    out = tmp_path / "calibration"
    args = ["calibrate", "--config", str(CONFIG), "--as-of", "2026-11-30", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "387 leads evaluated, 96 converted" in result.stdout
    written = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert written["outcomes"]["leads_converted"] == 96


def test_sample_backtest_follows_up_new_mqls(tmp_path: Path):
    start, end = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
    periods = backtest(load_config(CONFIG), [start, end]).periods
    last = periods.filter(pl.col("as_of") == end).row(0, named=True)
    new = mql_ids(end) - mql_ids(start)
    _, after = split_at(end)
    assert last["new_mqls"] == len(new)
    assert last["new_mqls_converted"] == len(new & after)

    out = tmp_path / "backtest"
    args = ["backtest", "--config", str(CONFIG), "--from", "2026-09-14", "--to", "2026-11-30"]
    outcomes = ["--outcomes", str(SAMPLE / "outcomes.csv"), "--out", str(out)]
    result = runner.invoke(app, [*args, "--every", "7d", *outcomes])
    assert result.exit_code == 0, result.output
    written = pl.read_csv(out / "backtest.csv")
    assert written.height == 12
    assert written.get_column("new_mqls_converted").drop_nulls().sum() > 0


def test_sample_explain_with_outcomes():
    args = ["explain", "--config", str(CONFIG), "--as-of", "2026-11-30"]
    outcomes = ["--outcomes", str(SAMPLE / "outcomes.csv")]
    result = runner.invoke(app, [*args, *outcomes, "L-000159"])
    assert result.exit_code == 0, result.output
    assert "Suggested points (score" in result.stdout
