"""Score groups with caps, the total cap, negative points, and how the ledger spreads cuts."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
from rich.console import Console

from leadq.console import render_explanation
from leadq.explain import GroupSubtotal, explain_lead
from tests.conftest import Scorer, lead

ONE_LEAD = [{"id": "L1", "email": "ada@example.com"}]
PRICING = {"name": "Pricing", "type": "page_view", "points": 15, "group": "web"}
DOWNLOAD = {"name": "Download", "type": "content_download", "points": 10, "group": "web"}
DEMO = {"name": "Demo", "type": "form_submit", "points": 25}

# oldest first: download 11-01, pricing 11-10, pricing 11-20, demo 11-25, pricing 11-30
ACTIVITIES = [
    {"lead": "L1", "type": "page_view", "at": "2026-11-30"},
    {"lead": "L1", "type": "form_submit", "at": "2026-11-25"},
    {"lead": "L1", "type": "page_view", "at": "2026-11-20"},
    {"lead": "L1", "type": "page_view", "at": "2026-11-10"},
    {"lead": "L1", "type": "content_download", "at": "2026-11-01"},
]


def config(*groups: dict[str, object], **engagement: object) -> dict[str, object]:
    rules = [PRICING, DOWNLOAD, DEMO]
    return {"engagement": {"groups": list(groups), "rules": rules, **engagement}}


def earned_by_day(ledger: pl.DataFrame) -> dict[str, float]:
    """Map each activity day of a one-lead ledger to the points it earned."""
    return {
        str(time.date()): points
        for time, points in zip(ledger["activity_time"], ledger["points_earned"], strict=True)
    }


def test_group_without_cap_only_subtotals(score: Scorer):
    result = score(config({"name": "web"}), ONE_LEAD, ACTIVITIES)
    row = lead(result, "L1")
    # web: 3 * 15 + 10 = 55, plus the demo's 25
    assert row["group_web"] == 55
    assert row["engagement_score"] == 80
    assert "capped" not in row["reasons"]


def test_group_cap_cuts_oldest_first(score: Scorer):
    result = score(config({"name": "web", "max_points": 40}), ONE_LEAD, ACTIVITIES)
    row = lead(result, "L1")
    # web 55 is capped at 40, so 15 are cut, and 40 + 25 = 65
    assert row["group_web"] == 40
    assert row["engagement_score"] == 65
    assert row["reasons"] == (
        "Demo x1 +25; Download x1 +10; Pricing x3 +45; group web capped at 40 (-15)"
    )
    # the cut of 15 takes the download of 11-01 (10), then 5 of the pricing visit of 11-10
    ledger = result.ledger_for("L1")
    assert earned_by_day(ledger) == {
        "2026-11-30": 15,
        "2026-11-25": 25,
        "2026-11-20": 15,
        "2026-11-10": 10,
        "2026-11-01": 0,
    }
    assert ledger["counted"].to_list() == [True, True, True, True, False]
    assert ledger["cut_reason"].to_list() == [
        "",
        "",
        "",
        "group web capped at 40",
        "group web capped at 40",
    ]
    assert ledger["points_earned"].sum() == 65


def test_total_cap_after_group_cap(score: Scorer):
    groups = {"name": "web", "max_points": 40}
    result = score(config(groups, max_points=50), ONE_LEAD, ACTIVITIES)
    row = lead(result, "L1")
    # web capped at 40, plus 25: 65, capped at 50
    assert row["engagement_score"] == 50
    assert row["group_web"] == 40
    assert row["reasons"].endswith("; group web capped at 40 (-15); total capped at 50 (-15)")
    # after the group cut (download 0, pricing 11-10 at 10), the total cut of 15 takes the
    # 10 left on 11-10 and 5 of the pricing visit of 11-20
    ledger = result.ledger_for("L1")
    assert earned_by_day(ledger) == {
        "2026-11-30": 15,
        "2026-11-25": 25,
        "2026-11-20": 10,
        "2026-11-10": 0,
        "2026-11-01": 0,
    }
    assert ledger["cut_reason"].to_list() == [
        "",
        "",
        "total capped at 50",
        "group web capped at 40; total capped at 50",
        "group web capped at 40",
    ]


def test_total_cap_alone(score: Scorer):
    result = score(config({"name": "web"}, max_points=60), ONE_LEAD, ACTIVITIES)
    # 45 + 10 + 25 = 80, capped at 60: the oldest 20 go (download 10, pricing 11-10 10)
    assert lead(result, "L1")["engagement_score"] == 60
    assert earned_by_day(result.ledger_for("L1"))["2026-11-10"] == 5


def test_negative_points_inside_group_reduce_it(score: Scorer):
    unsubscribe = {"name": "Unsubscribe", "type": "unsubscribe", "points": -10, "group": "web"}
    activities = [*ACTIVITIES, {"lead": "L1", "type": "unsubscribe", "at": "2026-11-02"}]
    engagement = config({"name": "web", "max_points": 40})
    engagement["engagement"]["rules"] = [PRICING, DOWNLOAD, DEMO, unsubscribe]
    result = score(engagement, ONE_LEAD, activities)
    row = lead(result, "L1")
    # web: 55 - 10 = 45, capped at 40: a cut of 5 from the oldest positive points, the
    # download of 11-01. The unsubscribe keeps its -10.
    assert row["group_web"] == 40
    assert row["engagement_score"] == 65
    by_day = earned_by_day(result.ledger_for("L1"))
    assert by_day["2026-11-01"] == 5
    assert by_day["2026-11-02"] == -10


def test_caps_never_raise_negative_totals(score: Scorer):
    leads = [{"id": "L2", "email": ""}]
    unsubscribe = {"name": "Unsubscribe", "type": "unsubscribe", "points": -30, "group": "web"}
    activities = [
        {"lead": "L2", "type": "unsubscribe", "at": "2026-11-30"},
        {"lead": "L2", "type": "page_view", "at": "2026-11-30"},
    ]
    raw = {
        "engagement": {
            "groups": [{"name": "web", "max_points": 10}],
            "max_points": 5,
            "rules": [PRICING, unsubscribe],
        }
    }
    result = score(raw, leads, activities)
    row = lead(result, "L2")
    # web: 15 - 30 = -15, below both caps, so nothing is cut
    assert row["group_web"] == -15
    assert row["engagement_score"] == -15
    assert row["reasons"] == "Pricing x1 +15; Unsubscribe x1 -30"
    assert result.ledger_for("L2")["cut_reason"].to_list() == ["", ""]


def test_group_cap_with_lead_rule(score: Scorer):
    leads = [{"id": "L1", "email": "", "views": "12"}]
    frequent = {
        "name": "Frequent visitor",
        "source": "lead",
        "where": [{"field": "views", "min": 10}],
        "points": 20,
        "group": "web",
    }
    activities = [{"lead": "L1", "type": "page_view", "at": "2026-11-30"}]
    raw = {
        "engagement": {"groups": [{"name": "web", "max_points": 25}], "rules": [PRICING, frequent]}
    }
    result = score(raw, leads, activities)
    # 15 + 20 = 35, capped at 25: the lead rule loses first, 10 of its 20
    assert lead(result, "L1")["engagement_score"] == 25
    ledger = result.ledger_for("L1")
    assert ledger["rule"].to_list() == ["Frequent visitor", "Pricing"]
    assert ledger["points_earned"].to_list() == [10, 15]
    assert Path(ledger["file"][0]).name == "leads.csv"
    assert ledger["line"][0] == 2
    assert ledger["activity_time"][0] is None


def test_group_columns_follow_score(score: Scorer):
    email = {"name": "Newsletter click", "type": "email_click", "points": 2, "group": "email"}
    raw = config({"name": "web", "max_points": 40}, {"name": "email"})
    raw["engagement"]["rules"] = [PRICING, DOWNLOAD, DEMO, email]
    result = score(raw, ONE_LEAD, ACTIVITIES)
    columns = result.scored_leads.columns
    start = columns.index("engagement_score")
    assert columns[start : start + 4] == ["engagement_score", "group_web", "group_email", "reasons"]
    assert lead(result, "L1")["group_email"] == 0


def test_explain_shows_groups_and_total_cap(score: Scorer):
    groups = {"name": "web", "max_points": 40}
    result = score(config(groups, max_points=50), ONE_LEAD, ACTIVITIES)
    explanation = explain_lead(result, "L1")
    assert explanation.groups == [GroupSubtotal(name="web", points=55, max_points=40, subtotal=40)]
    assert explanation.total_before_cap == 65
    console = Console(file=io.StringIO(), width=200)
    render_explanation(explanation, console)
    text = console.file.getvalue()
    assert "Total cap: 65.00 points before the cap, cut to max_points 50." in text
    assert "no (group web capped at 40)" in text
