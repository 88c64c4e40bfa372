"""`leadq calibrate` on the real X Education and Olist datasets, counted again with `csv`.

The datasets are not in this repository (see tests/test_real_data.py); these tests skip when
`shared/data` is absent from the folder that holds the repository clone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from leadq.calibration import calibrate
from leadq.cli import app
from leadq.config import load_config
from leadq.scoring import score_leads
from tests.conftest import read_rows

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "examples"
runner = CliRunner()


def mql_ids(config_name: str, as_of: dt.date) -> set[str]:
    scored = score_leads(load_config(CONFIG_DIR / config_name), as_of=as_of).scored_leads
    return set(scored.filter(pl.col("mql")).get_column("lead_id"))


def test_x_education_conversion_counts(data_dir: Path, tmp_path: Path):
    rows = read_rows(data_dir / "x-education-leads" / "Leads.csv")
    converted = {row["Prospect ID"] for row in rows if row["Converted"].strip() == "1"}
    as_of = dt.date(2026, 1, 31)
    mqls = mql_ids("x-education.toml", as_of)

    report = calibrate(load_config(CONFIG_DIR / "x-education.toml"), as_of=as_of).report
    assert report["overall"]["leads"] == len(rows) == 9240
    assert report["overall"]["converted"] == len(converted) == 3561
    assert report["mql"]["mql"]["leads"] == len(mqls)
    assert report["mql"]["mql"]["converted"] == len(mqls & converted)
    assert report["mql"]["not_mql"]["converted"] == len(converted - mqls)

    add_form = {row["Prospect ID"] for row in rows if row["Lead Origin"] == "Lead Add Form"}
    rule = next(r for r in report["rules"] if r["name"] == "Lead Add Form")
    assert rule["hit_leads"] == len(add_form)
    assert rule["with_hit"]["converted"] == len(add_form & converted)
    assert isinstance(rule["suggested_points"], float)

    out = tmp_path / "report"
    args = ["calibrate", "-c", str(CONFIG_DIR / "x-education.toml"), "--out", str(out)]
    result = runner.invoke(app, [*args, "--as-of", "2026-01-31", "--target-precision", "80%"])
    assert result.exit_code == 0, result.output
    assert {path.name for path in out.iterdir()} == {"calibration.json", "calibration.md"}


def test_olist_counts_only_deals_won_after_cut_off(data_dir: Path):
    funnel = data_dir / "olist-marketing-funnel"
    leads = read_rows(funnel / "olist_marketing_qualified_leads_dataset.csv")
    deals = read_rows(funnel / "olist_closed_deals_dataset.csv")
    cut_off = dt.date(2018, 2, 28)
    won_day = {deal["mql_id"]: dt.date.fromisoformat(deal["won_date"][:10]) for deal in deals}
    before = {lead for lead, day in won_day.items() if day <= cut_off}
    after = {lead for lead, day in won_day.items() if day > cut_off}
    mqls = mql_ids("olist.toml", cut_off) - before

    report = calibrate(load_config(CONFIG_DIR / "olist.toml"), as_of=cut_off).report
    outcomes = report["outcomes"]
    assert outcomes["rows_read"] == len(deals) == 842
    assert outcomes["leads_converted_before_cut_off"] == len(before)
    assert outcomes["leads_evaluated"] == len(leads) - len(before)
    assert outcomes["leads_converted"] == len(after)
    assert report["mql"]["mql"]["leads"] == len(mqls)
    assert report["mql"]["mql"]["converted"] == len(mqls & after)
