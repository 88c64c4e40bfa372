"""The shipped sample data scored with the shipped configs: hand-made rows pinned by value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadq.cli import app
from leadq.config import load_config
from leadq.scoring import ScoringResult, score_leads
from tests.conftest import lead

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def b2b() -> ScoringResult:
    return score_leads(load_config(ROOT / "configs" / "b2b.toml"), as_of=AS_OF)


@pytest.fixture(scope="module")
def b2c() -> ScoringResult:
    return score_leads(load_config(ROOT / "configs" / "b2c.toml"), as_of=AS_OF)


def test_b2b_funnel(b2b: ScoringResult):
    leads = b2b.scored_leads
    assert leads.height == 400
    assert leads["fit"].sum() == 194
    # 62 through the threshold and the demo request rule, plus L-000137 through cell A2
    assert leads["mql"].sum() == 63
    assert b2b.mqls.height == 63


def test_b2b_grades_by_hand(b2b: ScoringResult):
    expected = {
        # Healthcare 15 + 1193 employees 20 + Decision Maker 20 + HubSpot 10
        "L-000137": (65, "A", 31.56, "A2", "cell A2"),
        # Software 25 + "1,495" employees 20 + Champion 10 + Salesforce 10; the web cap of 40
        # takes 3.37 of its score
        "L-000159": (65, "A", 167.89, "A1", "score 167.89 >= 40; Demo request"),
        # Software 25, while 4691 employees, an Influencer and no Salesforce or HubSpot earn 0
        "L-000005": (25, "C", 0.07, "C3", "score 0.07 < 40; cell C3 not listed"),
    }
    for lead_id, (fit_score, grade, score, cell, reason) in expected.items():
        row = lead(b2b, lead_id)
        assert row["fit_score"] == fit_score, lead_id
        assert row["fit_grade"] == grade, lead_id
        assert row["engagement_score"] == score, lead_id
        assert row["grade_band"] == cell, lead_id
        assert row["mql_reason"] == reason, lead_id


def test_b2b_demo_request_qualifies_alone(b2b: ScoringResult):
    for lead_id, score in (("L-000012", 9.92), ("L-000087", 7.02), ("L-000233", 4.96)):
        row = lead(b2b, lead_id)
        assert row["engagement_score"] == score, lead_id
        assert row["mql"] is True, lead_id
        assert row["mql_reason"] == "Demo request", lead_id


def test_b2b_engaged_but_unfit(b2b: ScoringResult):
    # the web group's cap of 40 cuts 12.75, 12.09 and 12.42 points from these three
    expected = {
        "L-000045": (81.28, "Personal e-mail"),
        "L-000178": (81.28, "Target industry"),
        "L-000310": (81.28, "Company size"),
    }
    for lead_id, (score, failed) in expected.items():
        row = lead(b2b, lead_id)
        assert row["engagement_score"] == score, lead_id
        assert failed in row["fit_failed"], lead_id
        assert row["mql"] is False, lead_id


def test_b2b_accounts(b2b: ScoringResult):
    accounts = b2b.account_table
    assert accounts is not None
    # the file names 207 companies, but Quartz Schools is only on the row without a lead id
    assert accounts.height == 206
    assert accounts["fit"].sum() == 53
    assert accounts["mqa"].sum() == 10
    top = accounts.filter(accounts["mqa"]).row(0, named=True)
    assert top["account"] == "Northwind Software"
    assert top["engagement_score"] == 309.56
    assert top["engaged_lead_ids"] == "L-000215; L-000308; L-000002"
    # fit, and above 150, but a single engaged lead is not a buying group
    redwood = accounts.filter(accounts["account"] == "Redwood Labs").row(0, named=True)
    assert redwood["mqa_reason"] == "engaged leads 1 < 2"
    # the sample config leaves mql.account_rule off, so no lead qualifies through its account
    assert lead(b2b, "L-000005")["account_mqa"] is True
    assert lead(b2b, "L-000005")["mql"] is False


def test_b2b_web_group_cap(b2b: ScoringResult):
    # downloads +30.61 and a pricing visit +12.76 make 43.37 web points, capped at 40:
    # 40 + demo requests 52.44 + webinars 75.45 = 167.89
    row = lead(b2b, "L-000159")
    assert row["engagement_score"] == 167.89
    assert row["group_web"] == 40
    assert row["reasons"].endswith("; group web capped at 40 (-3.37)")
    assert b2b.scored_leads.filter(b2b.scored_leads["reasons"].str.contains("capped")).height == 66
    # below the cap, the subtotal is the sum of the two rules: 25.86 for L-000223
    assert lead(b2b, "L-000223")["group_web"] == 25.86


def test_b2b_window_edges(b2b: ScoringResult):
    # 15 * 0.5 ** (89 / 30) on the first day of the window, +20 on the as-of day in Berlin
    assert lead(b2b, "L-000200")["engagement_score"] == 21.92


def test_b2b_duplicate_keeps_latest_update(b2b: ScoringResult):
    assert lead(b2b, "L-000150")["fit"] is True
    duplicate = b2b.rejects.filter(b2b.rejects["problem"] == "duplicate lead id")
    assert duplicate["line"].to_list() == [403]
    assert "line 152 of" in duplicate["reason"].item()


def test_b2b_activity_buckets(b2b: ScoringResult):
    counts = b2b.activity_counts
    assert counts.total == 4023
    assert (counts.in_window, counts.before_window) == (3871, 137)
    # three rows with a blank Contact ID count as matching no lead
    assert (counts.future_dated, counts.unmatched, counts.rejected) == (4, 7, 4)
    activity_rejects = b2b.rejects.filter(b2b.rejects["table"] == "activities")
    assert sorted(zip(activity_rejects["file"], activity_rejects["line"], strict=True)) == [
        ("../sample_data/b2b/activities/forms.csv", 223),
        ("../sample_data/b2b/activities/forms.csv", 275),
        ("../sample_data/b2b/activities/web.csv", 297),
        ("../sample_data/b2b/activities/web.csv", 1584),
    ]


def test_b2c_funnel(b2c: ScoringResult):
    leads = b2c.scored_leads
    assert leads.height == 400
    assert leads["fit"].sum() == 179
    assert leads["mql"].sum() == 60


def test_b2c_email_join(b2c: ScoringResult):
    # a shared family address credits both customers; mixed case and spaces still join
    assert lead(b2c, "100040")["engagement_score"] == 34.10
    assert lead(b2c, "100041")["engagement_score"] == 34.10
    assert lead(b2c, "100200")["engagement_score"] == 33.23
    assert lead(b2c, "100250")["engagement_score"] == 10


def test_b2c_duplicate_keeps_last_row(b2c: ScoringResult):
    assert lead(b2c, "100120")["fit"] is False


def test_b2c_activity_buckets(b2c: ScoringResult):
    counts = b2c.activity_counts
    assert (counts.in_window, counts.before_window) == (3648, 438)
    assert (counts.future_dated, counts.unmatched, counts.rejected) == (2, 5, 4)


def test_explain_sample_lead_lists_filters_and_activities():
    args = ["explain", "--config", str(ROOT / "configs" / "b2b.toml"), "--as-of", "2026-11-30"]
    result = CliRunner().invoke(app, [*args, "L-000200"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("Target industry", "Company size", "Buying role", "Personal e-mail"):
        assert name in result.stdout
    assert "2026-09-02 00:00:00" in result.stdout
    assert "+1.92" in result.stdout
    assert "Webinar attended" in result.stdout
    assert "+20.00" in result.stdout
    assert "Engagement score: 21.92" in result.stdout


def test_explain_sample_lead_shows_group_cap():
    args = ["explain", "--config", str(ROOT / "configs" / "b2b.toml"), "--as-of", "2026-11-30"]
    result = CliRunner().invoke(app, [*args, "L-000159"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Score groups" in result.stdout
    assert "+43.37" in result.stdout
    assert "+40.00" in result.stdout
    # the oldest web activity, a download of 2026-10-12, loses all its 3.22 points
    assert "no (group web capped at 40)" in result.stdout
    assert "yes, part cut (group web capped at 40)" in result.stdout
